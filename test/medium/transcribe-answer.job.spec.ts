import { Types } from 'mongoose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AnswerDataModule } from '../../src/answers/answer-data.module.js';
import { freeSlot, LOST_CLAIM } from '../../src/transcription/job-scheduler.js';
import { WorkIndex } from '../../src/transcription/queue/work-index.js';
import { TranscribeAnswerJob } from '../../src/transcription/transcribe-answer.job.js';
import { TranscriptionModule } from '../../src/transcription/transcription.module.js';
import { TranscriptionWorker } from '../../src/transcription/transcription.worker.js';
import { wavTone } from '../support/audio.js';
import { expectedTranscript, FakeOpenAI, sha256Of } from '../support/fake-openai.js';
import { startMedium, type MediumApp } from '../support/medium.js';
import { dueJob as dueJobOf, queuedAnswer } from '../support/queued-answer.js';

const LEASE_MS = 30_000;
let app: MediumApp;
let fake: FakeOpenAI;
let job: TranscribeAnswerJob;
let workIndex: WorkIndex;

beforeAll(async () => {
  fake = await FakeOpenAI.start();
  app = await startMedium('job', {
    imports: [TranscriptionModule, AnswerDataModule],
    env: {
      OPENAI_API_KEY: 'sk-medium',
      OPENAI_BASE_URL: fake.url,
      TRANSCRIPTION_MODEL: 'whisper-1',
      TRANSCRIPTION_MAX_ATTEMPTS: '3',
      // the scheduler of the module is never started here: the test drives the job itself
      TRANSCRIPTION_POLL_MS: '600000',
    },
  });
  await app.get(TranscriptionWorker).scheduler.stop();
  job = app.get(TranscribeAnswerJob);
  workIndex = app.get(WorkIndex);
});
afterAll(async () => {
  await app?.close();
  await fake?.close();
});
beforeEach(() => fake.reset());

const uploaded = (audio: Buffer) => queuedAnswer(app, audio);

const dueJob = (sessionId: Types.ObjectId) => dueJobOf(app, sessionId);

const answerOf = async (sessionId: Types.ObjectId) =>
  (await app.db.collection('interview_sessions').findOne({ _id: sessionId }))!.answers.q1;
const never = new AbortController().signal;

describe('one transcription job', () => {
  it('transcribes the stored audio, stores the transcript and deletes the audio', async () => {
    const audio = wavTone(0.3, 300);
    const { sessionId, fileId } = await uploaded(audio);
    const started = await job.claim(await dueJob(sessionId));
    await started!.run(never, freeSlot);
    expect(await answerOf(sessionId)).toMatchObject({
      transcription_status: 'completed',
      transcript: expectedTranscript(sha256Of(audio)),
      transcribed_at: app.clock.now(),
      attempts: 1,
      claim_id: null,
    });
    expect(fake.requestsFor('q1')).toHaveLength(1);
    expect(await app.db.collection('fs.files').countDocuments({ _id: fileId })).toBe(0);
    expect(await app.db.collection('fs.chunks').countDocuments({ files_id: fileId })).toBe(0);
  });

  it('retries a transient failure after its backoff: not before, and then completes', async () => {
    fake.script('q1', { kind: 'status', status: 503, message: 'overloaded' });
    const { sessionId } = await uploaded(wavTone(0.3, 310));
    await (await job.claim(await dueJob(sessionId)))!.run(never, freeSlot);
    const waiting = await answerOf(sessionId);
    expect(waiting).toMatchObject({ transcription_status: 'queued', attempts: 1 });
    // attempt 1 with TRANSCRIPTION_RETRY_BASE_MS=2000: between 1 and 2 s ("equal jitter")
    const delay = waiting.next_attempt_at.getTime() - app.clock.nowMs();
    expect(delay).toBeGreaterThanOrEqual(1_000);
    expect(delay).toBeLessThanOrEqual(2_000);
    expect((await job.findDue(app.clock.now())).filter((j) => String(j.sessionId) === String(sessionId))).toEqual([]);

    app.clock.advance(delay);
    await (await job.claim(await dueJob(sessionId)))!.run(never, freeSlot);
    expect(await answerOf(sessionId)).toMatchObject({ transcription_status: 'completed', attempts: 2 });
    expect(fake.requestsFor('q1')).toHaveLength(2);
  });

  it('gives up after TRANSCRIPTION_MAX_ATTEMPTS and keeps the audio for a retry', async () => {
    fake.script('q1', ...Array(3).fill({ kind: 'status', status: 503, message: 'overloaded' }));
    const { sessionId, fileId } = await uploaded(wavTone(0.3, 320));
    for (let attempt = 1; attempt <= 3; attempt++) {
      await (await job.claim(await dueJob(sessionId)))!.run(never, freeSlot);
      app.clock.advance(60_000);
    }
    expect(await answerOf(sessionId)).toMatchObject({
      transcription_status: 'failed',
      transcription_error: 'Gave up after 3 attempts: The transcription provider failed (503).',
      attempts: 3,
      gridfs_file_id: fileId,
    });
  });

  it("drops the transcript of a job whose lease lapsed and was taken over: the new holder's result stands", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    fake.script('q1', { kind: 'hold', until: held, text: 'from the first worker' });
    const { sessionId } = await uploaded(wavTone(0.3, 330));
    const first = (await job.claim(await dueJob(sessionId)))!;
    const running = first.run(never, freeSlot);
    await fake.waitFor(() => fake.requestsFor('q1').length === 1);

    app.clock.advance(LEASE_MS + 1); // the first worker stopped renewing: its lease lapses
    const second = (await job.claim(await dueJob(sessionId)))!;
    expect(await first.renew()).toBe(false); // what the scheduler would notice next
    await second.run(never, freeSlot);
    release();
    await running;
    const answer = await answerOf(sessionId);
    expect(answer).toMatchObject({ transcription_status: 'completed', attempts: 2 });
    expect(answer.transcript).not.toBe('from the first worker');
  });

  it('writes nothing once told its claim is gone', async () => {
    fake.setDefault({ kind: 'ok', delayMs: 300 });
    const { sessionId } = await uploaded(wavTone(0.3, 340));
    const started = (await job.claim(await dueJob(sessionId)))!;
    const abort = new AbortController();
    const running = started.run(abort.signal, freeSlot);
    await fake.waitFor(() => fake.requestsFor('q1').length === 1);
    abort.abort(LOST_CLAIM);
    await running;
    expect(await answerOf(sessionId)).toMatchObject({ transcription_status: 'processing', transcript: null });
    fake.setDefault({ kind: 'ok' });
  });

  it('fails a recording whose stored bytes changed, without retrying', async () => {
    const { sessionId, fileId } = await uploaded(wavTone(0.3, 350));
    await app.db
      .collection('fs.chunks')
      .updateOne({ files_id: fileId, n: 0 }, { $set: { data: Buffer.from('tampered') } });
    await (await job.claim(await dueJob(sessionId)))!.run(never, freeSlot);
    expect(await answerOf(sessionId)).toMatchObject({
      transcription_status: 'failed',
      transcription_error: 'The stored audio failed its integrity check (SHA-256 mismatch); upload the answer again.',
      attempts: 1,
    });
    expect(await workIndex.findDueAnswers(app.clock.advance(3_600_000))).not.toContainEqual(
      expect.objectContaining({ sessionId }),
    );
  });
});
