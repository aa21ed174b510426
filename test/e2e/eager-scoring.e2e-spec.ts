import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { wavTone } from '../support/audio.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { useE2eApp } from '../support/e2e.js';
import { expectedTranscript, sha256Of } from '../support/fake-openai.js';

/**
 * Each answer is scored as soon as its transcript is stored, once per answer version, whichever
 * instance or request gets there first; analyze reuses the stored scores.
 */
const { db, fake, clientFor, startApp } = useE2eApp('eager-scoring', {
  env: { SCORING_MODEL: 'gpt-test-scorer', SESSION_WATCH_MS: '100' },
});
const alice = clientFor('alice');
let tone = 3000;
const freshAudio = () => wavTone(0.5, tone++);

/** A session of these questions, without model answers (nothing for the key-term coverage to compare). */
async function newSession(api: ApiClient, ids: string[]): Promise<string> {
  const res = await api.createSession(ids.map((id) => ({ question_id: id, text: `Question ${id}?` })));
  expect(res.status).toBe(201);
  return res.body.session_id;
}

/** The database the session is in: the fixture's, or a test's own (where the main server cannot work on it). */
let current: () => TestDatabase = () => db;
const sessionDoc = (id: string) =>
  current()
    .db.collection('interview_sessions')
    .findOne({ _id: new ObjectId(id) });

/** A database of the test's own: the main server (which shares the fixture's) can neither transcribe nor score its answers. */
async function ownDatabase(label: string): Promise<TestDatabase> {
  const own = await openTestDatabase(label);
  current = () => own;
  return own;
}

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether the answer to `q` has its score stored, for the version the session holds now. */
async function scored(sessionId: string, q: string): Promise<boolean> {
  const doc = await sessionDoc(sessionId);
  const record = doc?.answer_scores?.[q];
  return record?.status === 'scored' && record.answer_id === doc?.answers?.[q]?.id;
}

const chatFor = (q: string) => fake.chatRequests.filter((r) => r.questionId === q).length;

describe('eager scoring', () => {
  it('scores each answer once its transcript is stored; analyze reuses the scores without a call', async () => {
    const sessionId = await newSession(alice, ['q1', 'q2']);
    const audio = [freshAudio(), freshAudio()];
    expect((await alice.upload(sessionId, 'q1', audio[0])).status).toBe(202);
    expect((await alice.upload(sessionId, 'q2', audio[1])).status).toBe(202);
    await until(async () => (await scored(sessionId, 'q1')) && (await scored(sessionId, 'q2')), 'eager scores');
    expect(chatFor('q1')).toBe(3);
    expect(chatFor('q2')).toBe(3);
    const doc = await sessionDoc(sessionId);
    expect(doc!.answer_scores.q1).toMatchObject({
      answer_id: doc!.answers.q1.id,
      status: 'scored',
      claim_id: null,
      lease_until: null,
      result: { score: 75, method: 'llm', samples: 3, provenance: { chat_calls: 3, model: 'gpt-test-scorer' } },
    });

    const res = await alice.request('POST', `/api/analyze/${sessionId}`);
    expect(res.status).toBe(200);
    expect(fake.chatRequests).toHaveLength(6);
    expect(res.body.answers.map((a: { score: number; transcript: string }) => [a.score, a.transcript])).toEqual([
      [75, expectedTranscript(sha256Of(audio[0]))],
      [75, expectedTranscript(sha256Of(audio[1]))],
    ]);
    expect(res.body.answers[0].provenance.scored_at).toBe(
      doc!.answer_scores.q1.result.provenance.scored_at.toISOString(),
    );
  });

  it('a re-upload during scoring invalidates only that answer: the old scoring is fenced out, the new version scored once', async () => {
    const sessionId = await newSession(alice, ['q1', 'q2']);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    fake.scriptChat('q1', ...Array.from({ length: 3 }, () => ({ kind: 'hold' as const, until: held })));
    fake.scriptChat('q2', ...Array.from({ length: 3 }, () => ({ kind: 'criterion' as const, level: 2 })));
    const first = freshAudio();
    const second = freshAudio();
    await alice.upload(sessionId, 'q1', first);
    await alice.upload(sessionId, 'q2', freshAudio());
    await fake.waitFor(() => chatFor('q1') === 3, 20_000, 'the first version being scored');
    const firstId = (await sessionDoc(sessionId))!.answers.q1.id;

    expect((await alice.upload(sessionId, 'q1', second)).status).toBe(202);
    await until(
      async () => (await scored(sessionId, 'q1')) && (await scored(sessionId, 'q2')),
      'the new version scored',
    );
    release();
    // the first version's replies arrive now: its store is fenced out (the answer has a new id)
    await new Promise((r) => setTimeout(r, 500));
    const doc = await sessionDoc(sessionId);
    expect(doc!.answers.q1.id).not.toBe(firstId);
    expect(doc!.answer_scores.q1).toMatchObject({ answer_id: doc!.answers.q1.id, status: 'scored' });
    expect(doc!.answer_scores.q1.result.criteria[0].evidence).toBe(expectedTranscript(sha256Of(second)));
    expect(doc!.answer_scores.q2.result.score).toBe(50);

    const res = await alice.request('POST', `/api/analyze/${sessionId}`);
    expect(res.status).toBe(200);
    expect(res.body.answers[0]).toMatchObject({ score: 75, transcript: expectedTranscript(sha256Of(second)) });
    expect(res.body.answers[1].score).toBe(50);
    // q1: three held calls for the first version and three for the second; q2 once
    expect(chatFor('q1')).toBe(6);
    expect(chatFor('q2')).toBe(3);
  });

  it('a crash during eager scoring: the lapsed answer is scored again once, a stored one never', async () => {
    const own = await ownDatabase('eager-crash');
    const database = { database: { uri: own.uri } };
    const crashing = await startApp({ SCORING_CLAIM_MS: '2000' }, database);
    const api = new ApiClient(crashing.url, tokenFor('alice'));
    const sessionId = await newSession(api, ['q1', 'q2']);
    fake.scriptChat(
      'q1',
      ...Array.from({ length: 3 }, () => ({ kind: 'hold' as const, until: new Promise(() => {}) })),
    );
    await api.upload(sessionId, 'q1', freshAudio());
    await api.upload(sessionId, 'q2', freshAudio());
    await fake.waitFor(() => chatFor('q1') === 3, 20_000, 'q1 being scored');
    await until(() => scored(sessionId, 'q2'), 'q2 scored');
    await crashing.kill();
    expect((await sessionDoc(sessionId))!.answer_scores.q1).toMatchObject({ status: 'scoring' });

    const restarted = await startApp({ SCORING_CLAIM_MS: '2000' }, database);
    const res = await new ApiClient(restarted.url, tokenFor('alice')).request(
      'POST',
      `/api/analyze/${sessionId}?wait=20`,
    );
    expect(res.status).toBe(200);
    expect(res.body.answers.map((a: { score: number }) => a.score)).toEqual([75, 75]);
    // q1: three unanswered calls before the crash, three after; q2 paid once
    expect(chatFor('q1')).toBe(6);
    expect(chatFor('q2')).toBe(3);
    await restarted.stop();
    await own.drop();
    current = () => db;
  });

  it('two instances: each answer is scored exactly once, whichever transcribed it, and analyze on either reuses it', async () => {
    const other = await startApp();
    const viaOther = new ApiClient(other.url, tokenFor('alice'));
    const sessionId = await newSession(alice, ['q1', 'q2', 'q3', 'q4']);
    fake.setChatDefault({ kind: 'criterion', delayMs: 200 });
    await alice.upload(sessionId, 'q1', freshAudio());
    await viaOther.upload(sessionId, 'q2', freshAudio());
    await alice.upload(sessionId, 'q3', freshAudio());
    await viaOther.upload(sessionId, 'q4', freshAudio());
    const [a, b] = await Promise.all([
      alice.request('POST', `/api/analyze/${sessionId}?wait=20`),
      viaOther.request('POST', `/api/analyze/${sessionId}?wait=20`),
    ]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(a.body.final_score).toBe(75);
    expect(b.body.final_score).toBe(75);
    for (const q of ['q1', 'q2', 'q3', 'q4']) expect(chatFor(q), q).toBe(3);
  });
});

describe('with SCORING_EAGER=false', () => {
  it('scores nothing until analyze is called', async () => {
    const own = await ownDatabase('eager-off');
    const lazy = await startApp({ SCORING_EAGER: 'false' }, { database: { uri: own.uri } });
    const api = new ApiClient(lazy.url, tokenFor('alice'));
    const sessionId = await newSession(api, ['q1']);
    await api.upload(sessionId, 'q1', freshAudio());
    await until(async () => (await sessionDoc(sessionId))?.answers?.q1?.transcription_status === 'completed', 'q1');
    await new Promise((r) => setTimeout(r, 500));
    expect(fake.chatRequests).toHaveLength(0);
    const res = await api.request('POST', `/api/analyze/${sessionId}`);
    expect(res.status).toBe(200);
    expect(fake.chatRequests).toHaveLength(3);
    await lazy.stop();
    await own.drop();
    current = () => db;
  });
});
