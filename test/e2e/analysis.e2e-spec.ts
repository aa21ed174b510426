import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { AppProcess } from '../support/app-process.js';
import { wavTone } from '../support/audio.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { seedSession } from '../support/factories.js';
import { FakeOpenAI, expectedTranscript, sha256Of } from '../support/fake-openai.js';

let db: TestDatabase;
let fake: FakeOpenAI;
let app: AppProcess;
let alice: ApiClient;
let tone = 2000;
const freshAudio = () => wavTone(0.2, tone++);

beforeAll(async () => {
  db = await openTestDatabase('analysis');
  fake = await FakeOpenAI.start();
  app = await AppProcess.start({
    mongodbUri: db.uri,
    openaiUrl: fake.url,
    env: { SCORING_MODEL: 'gpt-test-scorer', SCORING_MAX_ATTEMPTS: '3', SESSION_WATCH_MS: '100' },
  });
  alice = new ApiClient(app.url, tokenFor('alice'));
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await db?.drop();
});

beforeEach(() => fake.reset());

const QUESTIONS = [
  {
    question_id: 'q1',
    text: 'What is a database index?',
    model_answer: 'A data structure that speeds up lookups at the cost of extra writes and storage.',
  },
  {
    question_id: 'q2',
    text: 'What does HTTP 404 mean?',
    model_answer: 'The server cannot find the requested resource.',
  },
  { question_id: 'q3', text: 'Why use TLS?', model_answer: 'To encrypt traffic and authenticate the server.' },
];

const analyze = (api: ApiClient, sessionId: string, query = '') =>
  api.request('POST', `/api/analyze/${sessionId}${query}`);

describe('POST /api/analyze/:sessionId', () => {
  it('answers 202 with Retry-After while transcriptions are queued or processing', async () => {
    const sessionId = await seedSession(db.db, {
      userId: 'alice',
      questions: QUESTIONS,
      answers: { q1: { status: 'processing' }, q2: { status: 'queued' }, q3: { status: 'completed', transcript: 'x' } },
    });
    const res = await analyze(alice, sessionId);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      status: 'transcription_pending',
      message: 'Waiting for 2 transcriptions to complete',
      pending_count: 1,
      processing_count: 1,
      retry_after: expect.any(Number),
    });
    expect(res.body.retry_after).toBeGreaterThanOrEqual(1);
    expect(res.headers.get('retry-after')).toBe(String(res.body.retry_after));
    expect(fake.chatRequests).toHaveLength(0);
  });

  it('answers 409 listing the failed transcriptions', async () => {
    const sessionId = await seedSession(db.db, {
      userId: 'alice',
      questions: QUESTIONS,
      answers: {
        q1: { status: 'completed', transcript: 'fine' },
        q2: { status: 'failed', error: 'The transcription provider rejected the audio (400): bad' },
      },
    });
    const res = await analyze(alice, sessionId);
    expect(res.status).toBe(409);
    // an RFC 9457 problem of its own type, whose status member is the HTTP status
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      type: '/problems/transcription-failed',
      title: 'A transcription failed',
      status: 409,
      statusCode: 409,
      error: 'Conflict',
      failed: [{ question_id: 'q2', error: 'The transcription provider rejected the audio (400): bad' }],
    });
    expect(res.body.detail).toBe(res.body.message);
    expect(res.body.message).toMatch(/transcription-retry/);
  });

  it('scores every answer with the LLM, counts unanswered questions as 0, stores the result, and never scores twice', async () => {
    const sessionId = await seedSession(db.db, {
      userId: 'alice',
      questions: QUESTIONS,
      answers: {
        q1: { status: 'completed', transcript: 'An index speeds up lookups.' },
        q2: { status: 'completed', transcript: 'Not found.' },
      },
    });
    fake.scriptChat('q1', { kind: 'score', score: 90, feedback: ['Accurate.', 'Mention write cost.'] });
    fake.scriptChat('q2', { kind: 'score', score: 61, feedback: ['Too short.'] });
    const res = await analyze(alice, sessionId);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'success',
      final_score: 50.3,
      scored_count: 2,
      answers: [
        {
          question_id: 'q1',
          score: 90,
          feedback: ['Accurate.', 'Mention write cost.'],
          model_answer: QUESTIONS[0].model_answer,
          transcript: 'An index speeds up lookups.',
          scoring_method: 'llm',
        },
        {
          question_id: 'q2',
          score: 61,
          feedback: ['Too short.'],
          model_answer: QUESTIONS[1].model_answer,
          transcript: 'Not found.',
          scoring_method: 'llm',
        },
        {
          question_id: 'q3',
          score: 0,
          feedback: ['No answer was recorded for this question.'],
          model_answer: QUESTIONS[2].model_answer,
          transcript: null,
          unanswered: true,
          scoring_method: 'none',
        },
      ],
      unanswered: ['q3'],
      analyzed_at: expect.any(String),
    });
    expect(fake.chatRequests.map((r) => r.questionId).sort()).toEqual(['q1', 'q2']);
    const request = fake.chatRequests[0].body;
    expect(request.model).toBe('gpt-test-scorer');
    expect(request.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { name: 'answer_score', strict: true },
    });
    expect(request.response_format.json_schema.schema.required).toEqual(['score', 'feedback']);

    const doc = await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    expect(doc).toMatchObject({
      status: 'analyzed',
      analysis_claim: null,
      analysis: { final_score: 50.3, scored_count: 2 },
    });

    const again = await analyze(alice, sessionId);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(res.body);
    expect(fake.chatRequests).toHaveLength(2);

    const upload = await alice.upload(sessionId, 'q3', freshAudio());
    expect(upload.status).toBe(409);
    expect((await alice.as('bob').request('POST', `/api/analyze/${sessionId}`)).status).toBe(404);
  });

  it('retries an unusable LLM reply, then falls back to the local scorer', async () => {
    const sessionId = await seedSession(db.db, {
      userId: 'alice',
      questions: QUESTIONS.slice(0, 2),
      answers: {
        q1: {
          status: 'completed',
          transcript: 'A data structure that speeds up lookups but costs extra writes and storage.',
        },
        q2: { status: 'completed', transcript: 'The server cannot find the resource.' },
      },
    });
    fake.scriptChat(
      'q1',
      { kind: 'content', content: 'Sure! Here is the score: 70' },
      { kind: 'score', score: 150 },
      { kind: 'score', score: 72 },
    );
    fake.scriptChat(
      'q2',
      { kind: 'refusal' },
      { kind: 'status', status: 500 },
      { kind: 'content', content: '{"score": 50}' },
    );
    const res = await analyze(alice, sessionId);
    expect(res.status).toBe(200);
    const [q1, q2] = res.body.answers;
    expect(q1).toMatchObject({ score: 72, scoring_method: 'llm' });
    expect(q2.scoring_method).toBe('local');
    expect(q2.score).toBeGreaterThan(50);
    expect(q2.feedback[0]).toMatch(/^Covered \d+ of \d+ key terms from the model answer\.$/);
    expect(fake.chatRequests.filter((r) => r.questionId === 'q1')).toHaveLength(3);
    expect(fake.chatRequests.filter((r) => r.questionId === 'q2')).toHaveLength(3);
  });

  it('scores exactly once when two analyze requests arrive at the same moment', async () => {
    const sessionId = await seedSession(db.db, {
      userId: 'alice',
      questions: QUESTIONS.slice(0, 2),
      answers: { q1: { status: 'completed', transcript: 'one' }, q2: { status: 'completed', transcript: 'two' } },
    });
    fake.setChatDefault({ kind: 'score', score: 70, delayMs: 300 });
    const [a, b] = await Promise.all([analyze(alice, sessionId), analyze(alice, sessionId)]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(a.body).toEqual(b.body);
    expect(fake.chatRequests).toHaveLength(2);
  });

  it('refuses a wait over 30 seconds or one that is not a number', async () => {
    const sessionId = await seedSession(db.db, { userId: 'alice', questions: QUESTIONS });
    for (const query of ['?wait=31', '?wait=abc', '?wait=-1', '?wait=1.5']) {
      const res = await analyze(alice, sessionId, query);
      expect(res.status, query).toBe(400);
      expect(res.body.message).toBe('wait must be a whole number of seconds from 0 to 30');
    }
  });

  it('with ?wait, answers the moment the last transcription finishes', async () => {
    const sessionId = await alice.newSession(['q1', 'q2']);
    let release!: () => void;
    fake.script('q2', { kind: 'hold', until: new Promise<void>((r) => (release = r)) });
    const a1 = freshAudio();
    const a2 = freshAudio();
    await alice.upload(sessionId, 'q1', a1);
    await alice.upload(sessionId, 'q2', a2);
    await fake.waitFor(() => fake.requestsFor('q2').length === 1);
    const started = Date.now();
    const pending = analyze(alice, sessionId, '?wait=20');
    setTimeout(() => release(), 700);
    const res = await pending;
    const elapsed = Date.now() - started;
    expect(res.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(650);
    expect(elapsed).toBeLessThan(5_000);
    expect(res.body.answers.map((a: { transcript: string }) => a.transcript)).toEqual([
      expectedTranscript(sha256Of(a1)),
      expectedTranscript(sha256Of(a2)),
    ]);
  });

  it('with ?wait, gives the 202 body when the wait runs out', async () => {
    const sessionId = await alice.newSession(['q1']);
    fake.script('q1', { kind: 'stall' });
    await alice.upload(sessionId, 'q1', freshAudio());
    await fake.waitFor(() => fake.requestsFor('q1').length === 1);
    const started = Date.now();
    const res = await analyze(alice, sessionId, '?wait=1');
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'transcription_pending', processing_count: 1, pending_count: 0 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('across instances', () => {
  it('a waiting analyze notices a transcription finished by another server', async () => {
    const other = await AppProcess.start({ mongodbUri: db.uri, openaiUrl: fake.url, env: { SESSION_WATCH_MS: '100' } });
    try {
      const viaOther = new ApiClient(other.url, tokenFor('alice'));
      const sessionId = await viaOther.newSession(['q1']);
      let release!: () => void;
      fake.script('q1', { kind: 'hold', until: new Promise<void>((r) => (release = r)) });
      await viaOther.upload(sessionId, 'q1', freshAudio());
      await fake.waitFor(() => fake.requestsFor('q1').length === 1);
      const pending = analyze(alice, sessionId, '?wait=20');
      setTimeout(() => release(), 500);
      const started = Date.now();
      const res = await pending;
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(other.logs.some((l) => l.includes(`transcribed session=${sessionId}`))).toBe(true);
      expect(app.logs.some((l) => l.includes(`transcribed session=${sessionId}`))).toBe(false);
    } finally {
      await other.stop();
    }
  });
});

describe('without OPENAI_API_KEY', () => {
  it('scores with the deterministic local scorer, which ranks a good answer above an off-topic one', async () => {
    const own = await openTestDatabase('localscore');
    const keyless = await AppProcess.start({ mongodbUri: own.uri, apiKey: null });
    try {
      const api = new ApiClient(keyless.url, tokenFor('erin'));
      const make = () =>
        seedSession(own.db, {
          userId: 'erin',
          questions: QUESTIONS.slice(0, 2),
          answers: {
            q1: {
              status: 'completed',
              transcript: 'An index is a data structure that speeds up lookups, but it costs extra writes and storage.',
            },
            q2: { status: 'completed', transcript: 'I enjoy hiking in the mountains on weekends.' },
          },
        });
      const first = await analyze(api, await make());
      const second = await analyze(api, await make());
      expect(first.status).toBe(200);
      const [good, offTopic] = first.body.answers;
      expect(good.scoring_method).toBe('local');
      expect(good.score).toBeGreaterThanOrEqual(70);
      expect(offTopic.score).toBeLessThanOrEqual(10);
      expect(offTopic.feedback).toContain('Not mentioned: server, cannot, find, request, resource.');
      expect(second.body.answers).toEqual(first.body.answers);
      expect(fake.chatRequests).toHaveLength(0);
    } finally {
      await keyless.stop();
      await own.drop();
    }
  });
});
