import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useE2eApp } from '../support/e2e.js';
import { FakeOpenAI } from '../support/fake-openai.js';

const soon = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
// no main server: each test starts its own, against this fake or the bare one
const { fake, startApp } = useE2eApp('model_watch', { server: false });
fake.models.set('gpt-transcribe', { shutdown_date: soon });
fake.models.set('gpt-6-luna', 'unknown');
/** A provider without /v1/models, like whisper.cpp's server. */
const bare = new FakeOpenAI();
bare.modelsEndpoint = false;
beforeAll(async () => {
  await bare.listen();
});
afterAll(async () => {
  await bare.close();
});

describe('the model retirement watch', () => {
  it('warns of a shutdown 30 days ahead and of a model the provider does not know: log, metric, health', async () => {
    const app = await startApp();
    try {
      await app.waitForLog(new RegExp(`TRANSCRIPTION_MODEL gpt-transcribe shuts down on ${soon} \\(in 30 days\\)`));
      await app.waitForLog(/the provider does not know SCORING_MODEL gpt-6-luna/);
      const health = await fetch(`${app.url}/health/ready`);
      expect(health.status).toBe(200);
      const body = (await health.json()) as any;
      expect(body.status).toBe('degraded');
      expect(body.details.models).toMatchObject({
        status: 'degraded',
        TRANSCRIPTION_MODEL: { model: 'gpt-transcribe', status: 'retiring', shutdown_date: soon, days_left: 30 },
        SCORING_MODEL: { model: 'gpt-6-luna', status: 'unknown' },
      });
      const metrics = await (await fetch(`${app.url}/metrics`)).text();
      expect(metrics).toContain(
        'interview_model_retirement_warning{setting="TRANSCRIPTION_MODEL",model="gpt-transcribe",reason="shutdown_soon"} 1',
      );
      expect(metrics).toContain(
        'interview_model_retirement_warning{setting="SCORING_MODEL",model="gpt-6-luna",reason="unknown_model"} 1',
      );
    } finally {
      await app.stop();
    }
  });

  it('tolerates a server without /v1/models silently', async () => {
    const app = await startApp({ OPENAI_BASE_URL: bare.url }, { openaiUrl: bare.url, apiKey: null });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      expect(app.logs.join('\n')).not.toMatch(/shuts down|does not know/);
      const body = (await (await fetch(`${app.url}/health/ready`)).json()) as any;
      expect(body.details.models).toMatchObject({ status: 'up', TRANSCRIPTION_MODEL: { status: 'unchecked' } });
    } finally {
      await app.stop();
    }
  });
});
