import { describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { wavTone } from '../support/audio.js';
import { useE2eApp } from '../support/e2e.js';

// no main server: the test starts one without a provider, then one with
const { fake, startApp } = useE2eApp('no_provider', { server: false });

describe('without a provider', () => {
  it('keeps answers queued with the reason, says degraded, and transcribes them once a provider is configured', async () => {
    const bare = await startApp({}, { apiKey: null, openaiUrl: null });
    const api = new ApiClient(bare.url, tokenFor('alice'));
    const sessionId = await api.newSession(['q1']);
    let waiting;
    try {
      expect((await api.upload(sessionId, 'q1', wavTone(0.5, 610), { contentType: 'audio/wav' })).status).toBe(202);
      const deadline = Date.now() + 20_000;
      do {
        waiting = (await api.answerStatus(sessionId, 'q1')).body;
        if (waiting.error) break;
        await new Promise((r) => setTimeout(r, 100));
      } while (Date.now() < deadline);
      expect(waiting).toMatchObject({ status: 'queued', attempts: 0 });
      expect(waiting.error).toMatch(/^No transcription provider is configured/);
      const health = (await (await fetch(`${bare.url}/health/ready`)).json()) as any;
      expect(health.status).toBe('degraded');
      expect(health.details.provider.message).toMatch(/^No transcription provider is configured/);
    } finally {
      await bare.stop();
    }
    expect(fake.requests).toHaveLength(0);

    const configured = await startApp();
    try {
      const done = await new ApiClient(configured.url, tokenFor('alice')).waitForAnswer(sessionId, 'q1');
      expect(done).toMatchObject({ status: 'completed', attempts: 1 });
      expect(done.error).toBeUndefined();
      expect(fake.requestsFor('q1')).toHaveLength(1);
    } finally {
      await configured.stop();
    }
  });
});
