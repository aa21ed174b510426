import { beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import type { AppProcess } from '../support/app-process.js';
import { wavTone } from '../support/audio.js';
import { useE2eApp } from '../support/e2e.js';
import { seedSession } from '../support/factories.js';

// the main server runs with the defaults: OpenAI's current models
const { db, fake, app: current, startApp, openDatabase } = useE2eApp('provider_params');
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
    // room for each of the default rubric's 4 criteria and the evaluator report
    expect(chat.body).toMatchObject({ temperature: 0, max_tokens: 350 * 5 });
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

describe('vocabulary the providers refuse (no answer fails for a term the candidate cannot change)', () => {
  it.each([
    [
      'List<T>',
      'vocabulary term "List<T>" must not contain "<" or ">": transcription providers refuse them in keywords',
    ],
    ['a -> b', 'vocabulary term "a -> b" must not contain "<" or ">"'],
    [
      'two\nlines',
      'vocabulary term "two\\nlines" must be a single line: transcription providers refuse keywords with line breaks',
    ],
    ['carriage\rreturn', 'vocabulary term "carriage\\rreturn" must be a single line'],
    ['para\u2029graph', 'must be a single line'],
    ['tab\there', 'vocabulary term "tab\\there" must not contain control characters (such as a tab or NUL)'],
    ['nul\u0000', 'must not contain control characters'],
    ['half \ud83c', 'vocabulary term "half \\ud83c" must be well-formed Unicode'],
    ['x'.repeat(61), 'is 61 characters long; a term must be at most 60'],
    ['   ', 'vocabulary terms must not be empty or blank; term 2 is "   "'],
  ])('refuses %j at session creation with a 400 naming the term and the rule', async (term, message) => {
    const api = new ApiClient(current.url, tokenFor('vocabulary-refused'));
    const res = await create(api, [{ ...QUESTION, vocabulary: ['GridFS', term] }]);
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(message);
    expect(await db.db.collection('interview_sessions').countDocuments({ user_id: 'vocabulary-refused' })).toBe(0);
  });

  it('takes every other kind of term as it is: emoji, right-to-left scripts, symbols, joined emoji', async () => {
    const api = new ApiClient(current.url, tokenFor('alice'));
    const vocabulary = [
      '🎤 Mikrofon',
      'שלום עולם',
      'مرحبا',
      'C#',
      "O'Reilly & Co.",
      '👩‍💻 dev',
      'naïve café',
      'x'.repeat(60),
    ];
    const res = await create(api, [{ ...QUESTION, vocabulary }]);
    expect(res.status).toBe(201);
    const view = await api.request('GET', `/api/sessions/${res.body.session_id}`);
    expect(view.body.questions[0].vocabulary).toEqual(vocabulary);
  });

  it('a provider that refuses the hints gets the recording once more without them, and the answer says so', async () => {
    const api = new ApiClient(current.url, tokenFor('alice'));
    const created = await create(api, [QUESTION], { language: 'en' });
    const sessionId = created.body.session_id as string;
    fake.script('q1', {
      kind: 'status',
      status: 400,
      type: 'invalid_request_error',
      param: 'keywords',
      code: 'invalid_value',
      message: "Invalid 'keywords': a keyword this provider does not take.",
    });
    expect((await api.upload(sessionId, 'q1', wavTone(0.5, tone++), { contentType: 'audio/wav' })).status).toBe(202);
    const done = await api.waitForAnswer(sessionId, 'q1');
    expect(done).toMatchObject({ status: 'completed', attempts: 1, transcribed_without_hints: true });
    expect(done.error).toBeUndefined();
    const [refused, again] = fake.requestsFor('q1');
    expect(fake.requestsFor('q1')).toHaveLength(2);
    expect(refused).toMatchObject({ status: 400, language: 'en' });
    expect(refused.keywords!.slice(0, 2)).toEqual(['Standard Webhooks', 'at-least-once']);
    expect(again).toMatchObject({ status: 200, keywords: undefined, language: undefined, languages: undefined });
    expect(again.sha256).toBe(refused.sha256); // the same recording, read again
    const view = await api.request('GET', `/api/sessions/${sessionId}`);
    expect(view.body.answers.q1).toMatchObject({ transcription_status: 'completed', transcribed_without_hints: true });
    const exported = await api.request('GET', `/api/sessions/${sessionId}/export`);
    expect(exported.body.session.answers[0].transcribed_without_hints).toBe(true);
  });

  it('a refusal that stays without hints fails the answer with a sentence for the operator, not advice to record again', async () => {
    const api = new ApiClient(current.url, tokenFor('alice'));
    const created = await create(api, [QUESTION], { language: 'en' });
    const sessionId = created.body.session_id as string;
    const refusal = {
      kind: 'status' as const,
      status: 400,
      type: 'invalid_request_error',
      param: 'language',
      code: 'invalid_value',
      message: "Invalid language 'en' for this deployment.",
    };
    fake.script('q1', refusal, refusal);
    expect((await api.upload(sessionId, 'q1', wavTone(0.5, tone++), { contentType: 'audio/wav' })).status).toBe(202);
    const failed = await api.waitForAnswer(sessionId, 'q1');
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe(
      "The transcription provider refused the request's language (400), not the recording; the operator must check the transcription settings (TRANSCRIPTION_MODEL, TRANSCRIPTION_LANGUAGE), then retry the answer.",
    );
    expect(fake.requestsFor('q1')).toHaveLength(2); // once with the hints, once without: never more
  });

  it('a session stored before these rules: a refused term is left out, and the strict provider transcribes the rest', async () => {
    const sessionId = await seedSession(db.db, {
      userId: 'alice',
      questions: [{ ...QUESTION, vocabulary: ['List<T>', 'line\nbreak', 'GridFS'] } as never],
    });
    const api = new ApiClient(current.url, tokenFor('alice'));
    expect((await api.upload(sessionId, 'q1', wavTone(0.5, tone++), { contentType: 'audio/wav' })).status).toBe(202);
    const done = await api.waitForAnswer(sessionId, 'q1');
    expect(done.status).toBe('completed');
    expect(done.transcribed_without_hints).toBeUndefined();
    const [sent] = fake.requestsFor('q1');
    expect(fake.requestsFor('q1')).toHaveLength(1);
    expect(sent.keywords![0]).toBe('GridFS');
    expect(sent.keywords).not.toContain('List<T>');
  });
});
