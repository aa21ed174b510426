import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { AppProcess } from '../support/app-process.js';
import { wavTone } from '../support/audio.js';
import { eventually, gridfsCounts } from '../support/database.js';
import { useE2eApp } from '../support/e2e.js';
import { expectedTranscript, sha256Of } from '../support/fake-openai.js';

let tone = 1200;
const freshAudio = () => wavTone(0.5, tone++);

/**
 * One user uploads a dozen answers or more at once here, to load the instances: more than
 * MAX_CONCURRENT_UPLOADS_PER_USER allows a real candidate (user-limits.e2e-spec.ts tests that limit).
 */
const MANY_UPLOADS = { MAX_CONCURRENT_UPLOADS_PER_USER: '64' };

// a database of its own for every test, which starts its servers (killed after it)
const { db, fake, startApp } = useE2eApp('resilience', { scope: 'test', env: MANY_UPLOADS });

/** How many times the provider answered a transcript for each distinct recording. */
function answeredPerRecording(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of fake.requests) if (r.answered) counts.set(r.sha256, (counts.get(r.sha256) ?? 0) + 1);
  return counts;
}

describe('scheduling', () => {
  it('runs at most TRANSCRIPTION_CONCURRENCY jobs at once, in upload order', async () => {
    const app = await startApp({ TRANSCRIPTION_CONCURRENCY: '2' });
    const api = new ApiClient(app.url, tokenFor('alice'));
    const ids = ['q1', 'q2', 'q3', 'q4', 'q5', 'q6'];
    const sessionId = await api.newSession(ids);
    // the provider holds its answers until every upload is in, so that however slowly the uploads
    // go (FerretDB on SQLite), the queue has six answers and two slots
    let release!: () => void;
    fake.setDefault({ kind: 'hold', until: new Promise<void>((r) => (release = r)) });
    for (const id of ids) expect((await api.upload(sessionId, id, freshAudio())).status).toBe(202);
    await fake.waitFor(() => fake.inFlight === 2, 10_000, 'two transcriptions in flight');
    release();
    for (const id of ids) expect((await api.waitForAnswer(sessionId, id)).status).toBe('completed');
    expect(fake.maxInFlight).toBe(2);
    // released together, two slots free at once: each pair is claimed at the same moment
    const order = fake.requests.map((r) => r.questionId);
    expect([0, 2, 4].map((i) => order.slice(i, i + 2).sort())).toEqual([
      ['q1', 'q2'],
      ['q3', 'q4'],
      ['q5', 'q6'],
    ]);
  });
});

describe('crashes and restarts', () => {
  it('picks up queued and abandoned processing answers after a SIGKILL, without transcribing any twice', async () => {
    const env = { TRANSCRIPTION_CONCURRENCY: '2', TRANSCRIPTION_LEASE_MS: '2000' };
    const first = await startApp(env);
    const api = new ApiClient(first.url, tokenFor('alice'));
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const sessionId = await api.newSession(ids);
    const audio = new Map(ids.map((id) => [id, freshAudio()]));
    fake.setDefault({ kind: 'stall' });
    for (const id of ids) expect((await api.upload(sessionId, id, audio.get(id)!)).status).toBe(202);
    await fake.waitFor(() => fake.inFlight === 2, 10_000, 'two transcriptions in flight');
    expect((await api.sessionStatus(sessionId)).body.summary).toMatchObject({ processing: 2, queued: 3 });

    await first.kill();
    fake.setDefault({ kind: 'ok' });
    const killedAt = Date.now();
    const second = await startApp(env);
    // the clock starts when the second server listens: how long it takes to boot on a loaded
    // machine is not what this measures
    const readyAt = Date.now();
    const api2 = new ApiClient(second.url, tokenFor('alice'));
    for (const id of ids) {
      const done = await api2.waitForAnswer(sessionId, id, ['completed', 'failed'], 30_000);
      expect(done).toMatchObject({ status: 'completed', transcript: expectedTranscript(sha256Of(audio.get(id)!)) });
    }
    // abandoned claims are taken up once their lease lapses, well within a minute
    console.log(
      `after the SIGKILL: listening again in ${readyAt - killedAt} ms, all 5 completed ${Date.now() - readyAt} ms later`,
    );
    expect(Date.now() - readyAt).toBeLessThan(15_000);
    const answered = answeredPerRecording();
    expect(answered.size).toBe(5);
    expect([...answered.values()].every((n) => n === 1)).toBe(true);
    await eventually(async () => expect(await gridfsCounts(db.db)).toEqual({ files: 0, chunks: 0 }));
  });

  it('lets two instances share one database without transcribing anything twice', async () => {
    const env = { TRANSCRIPTION_CONCURRENCY: '2', TRANSCRIPTION_POLL_MS: '100' };
    const [a, b] = await Promise.all([startApp(env), startApp(env)]);
    const apiA = new ApiClient(a.url, tokenFor('alice'));
    const apiB = new ApiClient(b.url, tokenFor('alice'));
    const ids = Array.from({ length: 12 }, (_, i) => `q${i}`);
    const sessionId = await apiA.newSession(ids);
    fake.setDefault({ kind: 'ok', delayMs: 60 });
    const audio = ids.map(() => freshAudio());
    const uploads = await Promise.all(ids.map((id, i) => (i % 2 ? apiA : apiB).upload(sessionId, id, audio[i])));
    expect(uploads.map((u) => u.status)).toEqual(ids.map(() => 202));
    for (const id of ids) expect((await apiA.waitForAnswer(sessionId, id)).status).toBe('completed');

    expect(fake.requests).toHaveLength(12);
    expect(new Set(fake.requests.map((r) => r.sha256)).size).toBe(12);
    const doc = await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    for (const [i, id] of ids.entries()) {
      expect(doc!.answers[id]).toMatchObject({ attempts: 1, transcript: expectedTranscript(sha256Of(audio[i])) });
    }
    const transcribedBy = (app: AppProcess) => app.logs.filter((l) => l.includes('transcribed session=')).length;
    expect(transcribedBy(a) + transcribedBy(b)).toBe(12);
    expect(transcribedBy(a)).toBeGreaterThan(0);
    expect(transcribedBy(b)).toBeGreaterThan(0);
  });

  it('never steals a long transcription whose worker is alive and renewing its lease', async () => {
    const env = { TRANSCRIPTION_LEASE_MS: '1000', TRANSCRIPTION_POLL_MS: '100' };
    const [a] = await Promise.all([startApp(env), startApp(env)]);
    const api = new ApiClient(a.url, tokenFor('alice'));
    const sessionId = await api.newSession(['long']);
    fake.script('long', { kind: 'ok', delayMs: 3_500 });
    await api.upload(sessionId, 'long', freshAudio());
    expect(await api.waitForAnswer(sessionId, 'long')).toMatchObject({ status: 'completed', attempts: 1 });
    expect(fake.requestsFor('long')).toHaveLength(1);
  });
});

describe('graceful shutdown (SIGTERM)', () => {
  it('lets a running transcription finish within SHUTDOWN_GRACE_MS', async () => {
    const app = await startApp({ SHUTDOWN_GRACE_MS: '5000' });
    const api = new ApiClient(app.url, tokenFor('alice'));
    const sessionId = await api.newSession(['q1']);
    fake.script('q1', { kind: 'ok', delayMs: 1_000 });
    await api.upload(sessionId, 'q1', freshAudio());
    await fake.waitFor(() => fake.inFlight === 1);
    await app.stop('SIGTERM');
    const doc = await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    expect(doc!.answers.q1).toMatchObject({ transcription_status: 'completed', attempts: 1, gridfs_file_id: null });
  });

  it('hands unfinished work back to the queue when the grace period runs out', async () => {
    const app = await startApp({ SHUTDOWN_GRACE_MS: '300' });
    const api = new ApiClient(app.url, tokenFor('alice'));
    const sessionId = await api.newSession(['q1']);
    fake.script('q1', { kind: 'stall' });
    const audio = freshAudio();
    await api.upload(sessionId, 'q1', audio);
    await fake.waitFor(() => fake.inFlight === 1);
    const stoppedAt = Date.now();
    await app.stop('SIGTERM');
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    const doc = await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    expect(doc!.answers.q1).toMatchObject({
      transcription_status: 'queued',
      attempts: 0,
      claim_id: null,
      lease_until: null,
    });

    const next = await startApp();
    const done = await new ApiClient(next.url, tokenFor('alice')).waitForAnswer(sessionId, 'q1');
    expect(done).toMatchObject({ status: 'completed', attempts: 1, transcript: expectedTranscript(sha256Of(audio)) });
  });
});
