import { beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import type { AppProcess } from '../support/app-process.js';
import { wavTone } from '../support/audio.js';
import { useE2eApp } from '../support/e2e.js';

// the main server runs with the defaults: OpenAI's current models
const { fake, app: current, startApp, openDatabase } = useE2eApp('provider_params');
let selfHosted: AppProcess;
let tone = 900;

const QUESTION = {
  question_id: 'q1',
  text: 'Why should a webhook receiver be idempotent?',
  model_answer:
    'Deliveries are retried, so GridFS writes or Kubernetes jobs triggered twice must not double the effect.',
  vocabulary: ['Standard Webhooks', 'at-least-once'],
};

beforeAll(async () => {
  // a database each: the two servers must not take each other's jobs
  const otherDb = await openDatabase('provider_params_self');
  // a self-hosted whisper server asked for segments, scored by a plain chat model
  selfHosted = await startApp(
    {
      TRANSCRIPTION_MODEL: 'Systran/faster-whisper-small',
      TRANSCRIPTION_RESPONSE_FORMAT: 'verbose_json',
      SCORING_MODEL: 'gpt-4o-mini',
      // one sample: the model's single best judgement, at temperature 0
      SCORING_SAMPLES: '1',
    },
    { database: otherDb },
  );
});

const create = (api: ApiClient, questions: unknown[], session: Record<string, unknown> = {}) =>
  api.request('POST', '/api/sessions', { json: { questions, ...session } });

async function answered(app: AppProcess, session: Record<string, unknown>) {
  const api = new ApiClient(app.url, tokenFor('alice'));
  const created = await create(api, [QUESTION], session);
  expect(created.status).toBe(201);
  const sessionId = created.body.session_id as string;
  expect((await api.upload(sessionId, 'q1', wavTone(0.5, tone++), { contentType: 'audio/wav' })).status).toBe(202);
  const done = await api.waitForAnswer(sessionId, 'q1');
  expect(done.status).toBe('completed');
  const analysis = await api.request('POST', `/api/analyze/${sessionId}`);
  expect(analysis.status).toBe(200);
  return { sessionId, api };
}

describe('what the provider is asked', () => {
  it('by default: gpt-transcribe with json, keywords of the question, the session language; gpt-6-luna as a reasoning model', async () => {
    await answered(current, { language: 'en' });
    const [sent] = fake.requestsFor('q1');
    expect(sent.model).toBe('gpt-transcribe');
    expect(sent.responseFormat).toBe('json');
    expect(sent.language).toBe('en');
    // the filler-word example only (delivery counts "um"s): the terms go as keywords
    expect(sent.prompt).toBe('Umm, let me think, uh... so, hmm, I would say, um, that it, er, depends.');
    // the question's own vocabulary first, then terms of its text and model answer
    expect(sent.keywords!.slice(0, 2)).toEqual(['Standard Webhooks', 'at-least-once']);
    expect(sent.keywords).toEqual(
      expect.arrayContaining(['webhook', 'receiver', 'idempotent', 'GridFS', 'Kubernetes']),
    );
    expect(sent.keywords).not.toContain('should');
    expect(sent.status).toBe(200);

    const [chat] = fake.chatRequests;
    expect(chat.model).toBe('gpt-6-luna');
    expect(chat.body.max_completion_tokens).toBeGreaterThan(1000);
    expect(chat.body.temperature).toBeUndefined();
    expect(chat.body.max_tokens).toBeUndefined();
    expect(chat.body.response_format).toMatchObject({ type: 'json_schema', json_schema: { strict: true } });
  });

  it('sends the languages of a bilingual session to gpt-transcribe, and no language', async () => {
    const { api, sessionId } = await answered(current, { languages: ['en', 'de'] });
    const [sent] = fake.requestsFor('q1');
    expect(sent.languages).toEqual(['en', 'de']);
    expect(sent.language).toBeUndefined();
    const view = await api.request('GET', `/api/sessions/${sessionId}`);
    expect(view.body.languages).toEqual(['en', 'de']);
    expect(view.body.questions[0].vocabulary).toEqual(['Standard Webhooks', 'at-least-once']);
  });

  it('a whisper-style server gets verbose_json and the terms inside prompt; a plain chat model temperature 0 and max_tokens', async () => {
    const { api, sessionId } = await answered(selfHosted, { languages: ['en', 'de'] });
    const [sent] = fake.requestsFor('q1');
    expect(sent.model).toBe('Systran/faster-whisper-small');
    expect(sent.responseFormat).toBe('verbose_json');
    expect(sent.keywords).toBeUndefined();
    expect(sent.languages).toBeUndefined();
    expect(sent.prompt).toMatch(
      /^Umm, let me think, .* depends\. Glossary: Standard Webhooks, at-least-once, .*idempotent.*GridFS.*Kubernetes/,
    );
    const view = await api.request('GET', `/api/sessions/${sessionId}`);
    expect(view.body.answers.q1.segments).toHaveLength(1);

    const [chat] = fake.chatRequests;
    expect(chat.model).toBe('gpt-4o-mini');
    expect(chat.body).toMatchObject({ temperature: 0, max_tokens: 600 });
    expect(chat.body.max_completion_tokens).toBeUndefined();
    expect(chat.body.response_format.type).toBe('json_schema');
  });

  it('refuses a malformed vocabulary or languages list with a 400 naming the field', async () => {
    const api = new ApiClient(current.url, tokenFor('alice'));
    const bad = await create(api, [{ ...QUESTION, vocabulary: ['ok', ''] }]);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('vocabulary terms must not be empty');
    const worse = await create(api, [QUESTION], { languages: ['english'] });
    expect(worse.status).toBe(400);
    expect(JSON.stringify(worse.body)).toContain('languages must be ISO-639-1 codes');
  });
});
