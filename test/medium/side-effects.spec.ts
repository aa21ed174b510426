import { Types } from 'mongoose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AnswerDataModule } from '../../src/answers/answer-data.module.js';
import { SessionDocuments } from '../../src/interview-record/session-documents.js';
import { SessionEraser } from '../../src/sessions/session-eraser.js';
import { freeSlot, SHUTTING_DOWN } from '../../src/transcription/job-scheduler.js';
import { TranscribeAnswerJob } from '../../src/transcription/transcribe-answer.job.js';
import { TranscriptionModule } from '../../src/transcription/transcription.module.js';
import { TranscriptionWorker } from '../../src/transcription/transcription.worker.js';
import { WebhookDeliveryStore } from '../../src/webhooks/webhook-delivery.store.js';
import { wavTone } from '../support/audio.js';
import { eventually } from '../support/database.js';
import { expectedTranscript, FakeOpenAI, sha256Of } from '../support/fake-openai.js';
import { startMedium, type MediumApp } from '../support/medium.js';
import { dueJob as dueJobOf, queuedAnswer } from '../support/queued-answer.js';

/**
 * Side effects of a finished transcription that must be neither lost nor doubled: a
 * failed completion write, a lost webhook insert, an erasure racing a job.
 */
const LEASE_MS = 30_000;
const HOOK = 'https://receiver.example.com/hooks';
let app: MediumApp;
let fake: FakeOpenAI;
let job: TranscribeAnswerJob;

beforeAll(async () => {
  fake = await FakeOpenAI.start();
  app = await startMedium('side-effects', {
    imports: [TranscriptionModule, AnswerDataModule],
    env: {
      OPENAI_API_KEY: 'sk-medium',
      OPENAI_BASE_URL: fake.url,
      TRANSCRIPTION_MODEL: 'whisper-1',
      TRANSCRIPTION_MAX_ATTEMPTS: '3',
      TRANSCRIPTION_POLL_MS: '600000',
      WEBHOOK_SECRET: `whsec_${Buffer.from('medium-webhook-secret-0123456789').toString('base64')}`,
      WEBHOOK_POLL_MS: '200',
    },
  });
  await app.get(TranscriptionWorker).scheduler.stop();
  job = app.get(TranscribeAnswerJob);
});
afterAll(async () => {
  await app?.close();
  await fake?.close();
});
beforeEach(() => fake.reset());
afterEach(() => vi.restoreAllMocks());

const uploaded = (audio: Buffer, questionIds = ['q1']) => queuedAnswer(app, audio, { questionIds, webhookUrl: HOOK });

const dueJob = (sessionId: Types.ObjectId) => dueJobOf(app, sessionId);

const answerOf = async (sessionId: Types.ObjectId) =>
  (await app.db.collection('interview_sessions').findOne({ _id: sessionId }))!.answers.q1;
const fileCount = (fileId: Types.ObjectId) => app.db.collection('fs.files').countDocuments({ _id: fileId });
const deliveriesOf = (sessionId: Types.ObjectId) =>
  app.db.collection('webhook_deliveries').find({ session_id: sessionId }).toArray();
const never = new AbortController().signal;

/** Makes the session write that marks q1 completed fail `times` times (a blip, a lock timeout). */
function failCompletionWrites(times: number) {
  const documents = app.get(SessionDocuments);
  const original = documents.findOneAndUpdate.bind(documents);
  let failures = 0;
  return vi.spyOn(documents, 'findOneAndUpdate').mockImplementation(async (id, filter, update, returnDocument) => {
    const set = (update as { $set?: Record<string, unknown> }).$set ?? {};
    if (set['answers.q1.transcription_status'] === 'completed' && failures < times) {
      failures++;
      throw new Error('connection reset by peer');
    }
    return original(id, filter, update, returnDocument);
  });
}

describe('a failed completion write', () => {
  it('is retried: the provider is asked once and the answer completes', async () => {
    const audio = wavTone(0.3, 400);
    const { sessionId, fileId } = await uploaded(audio);
    const spy = failCompletionWrites(2);
    await (await job.claim(await dueJob(sessionId)))!.run(never, freeSlot);
    expect(fake.requestsFor('q1')).toHaveLength(1);
    expect(await answerOf(sessionId)).toMatchObject({
      transcription_status: 'completed',
      transcript: expectedTranscript(sha256Of(audio)),
      attempts: 1,
      held_result: null,
      gridfs_file_id: null,
    });
    expect(spy.mock.calls.length).toBeGreaterThanOrEqual(3);
    expect(await fileCount(fileId)).toBe(0);
  });

  it('on the last attempt does not end the answer failed', async () => {
    const audio = wavTone(0.3, 410);
    const { sessionId } = await uploaded(audio);
    await app.db.collection('interview_sessions').updateOne({ _id: sessionId }, { $set: { 'answers.q1.attempts': 2 } }); // the claim makes it 3 of 3
    failCompletionWrites(1);
    await (await job.claim(await dueJob(sessionId)))!.run(never, freeSlot);
    expect(fake.requestsFor('q1')).toHaveLength(1);
    expect(await answerOf(sessionId)).toMatchObject({ transcription_status: 'completed', attempts: 3 });
  });

  it('that outlasts the job: the next holder completes from the kept transcript without asking the provider', async () => {
    const audio = wavTone(0.3, 420);
    const { sessionId, fileId } = await uploaded(audio);
    const spy = failCompletionWrites(1_000);
    const stop = new AbortController();
    const running = (await job.claim(await dueJob(sessionId)))!.run(stop.signal, freeSlot);
    await fake.waitFor(() => fake.requestsFor('q1').length === 1);
    const completing = () =>
      spy.mock.calls.some(
        ([, , update]) =>
          (update as { $set?: Record<string, unknown> }).$set?.['answers.q1.transcription_status'] === 'completed',
      );
    await eventually(async () => expect(completing()).toBe(true));
    stop.abort(SHUTTING_DOWN); // the process goes away while the database is still refusing
    await running;
    spy.mockRestore();
    expect(await answerOf(sessionId)).toMatchObject({ transcription_status: 'processing' });

    app.clock.advance(LEASE_MS + 1);
    await (await job.claim(await dueJob(sessionId)))!.run(never, freeSlot);
    expect(fake.requestsFor('q1')).toHaveLength(1);
    expect(await answerOf(sessionId)).toMatchObject({
      transcription_status: 'completed',
      transcript: expectedTranscript(sha256Of(audio)),
      attempts: 2,
    });
    expect(await fileCount(fileId)).toBe(0);
  });

  it('a reader who sees the answer completed sees its audio gone', async () => {
    const { sessionId, fileId } = await uploaded(wavTone(0.3, 430));
    const documents = app.get(SessionDocuments);
    const original = documents.findOneAndUpdate.bind(documents);
    let filesWhenCompleted = -1;
    vi.spyOn(documents, 'findOneAndUpdate').mockImplementation(async (id, filter, update, returnDocument) => {
      const result = await original(id, filter, update, returnDocument);
      if (result?.answers?.q1?.transcription_status === 'completed') filesWhenCompleted = await fileCount(fileId);
      return result;
    });
    await (await job.claim(await dueJob(sessionId)))!.run(never, freeSlot);
    expect(filesWhenCompleted).toBe(0);
  });
});

describe('webhook events recorded with the change that causes them', () => {
  it('a failed insert of transcriptions.completed is relayed later, once', async () => {
    const { sessionId } = await uploaded(wavTone(0.3, 440));
    const store = app.get(WebhookDeliveryStore);
    const enqueue = vi.spyOn(store, 'enqueue').mockRejectedValueOnce(new Error('connection reset by peer'));
    await (await job.claim(await dueJob(sessionId)))!.run(never, freeSlot);
    // the relay after the write, or a sweep that read the session first, met the failure
    expect(enqueue).toHaveBeenCalled();
    await eventually(async () =>
      expect((await deliveriesOf(sessionId)).map((d) => [d.event, d.url, d.status])).toEqual([
        ['transcriptions.completed', HOOK, 'pending'],
      ]),
    );
    await eventually(async () =>
      expect(
        await app.db.collection('interview_sessions').findOne({ _id: sessionId, webhooks_due_at: { $exists: true } }),
      ).toBeNull(),
    );
    expect(await deliveriesOf(sessionId)).toHaveLength(1);
  });

  it('a failed insert of transcription.failed is relayed later', async () => {
    fake.script('q1', { kind: 'status', status: 400, message: 'bad audio' });
    const { sessionId } = await uploaded(wavTone(0.3, 450));
    vi.spyOn(app.get(WebhookDeliveryStore), 'enqueue').mockRejectedValueOnce(new Error('connection reset by peer'));
    await (await job.claim(await dueJob(sessionId)))!.run(never, freeSlot);
    expect(await answerOf(sessionId)).toMatchObject({ transcription_status: 'failed' });
    await eventually(async () =>
      expect((await deliveriesOf(sessionId)).map((d) => d.event)).toEqual(['transcription.failed']),
    );
  });
});

describe('erasure racing a finishing job', () => {
  it('leaves no webhook row behind when the event is stored after the erasure deleted the rows', async () => {
    const { sessionId, fileId } = await uploaded(wavTone(0.3, 460));
    const store = app.get(WebhookDeliveryStore);
    const original = store.enqueue.bind(store);
    let erased!: Promise<unknown>;
    vi.spyOn(store, 'enqueue').mockImplementation(async (delivery) => {
      // the session is erased while this insert is on its way
      erased = app.get(SessionEraser).erase(sessionId, 'alice');
      await erased;
      return original(delivery);
    });
    await (await job.claim(await dueJob(sessionId)))!.run(never, freeSlot);
    await erased;
    vi.restoreAllMocks();
    await new Promise((r) => setTimeout(r, 600)); // a sweep or two
    expect(await deliveriesOf(sessionId)).toEqual([]);
    expect(await app.db.collection('interview_sessions').countDocuments({ _id: sessionId })).toBe(0);
    expect(await fileCount(fileId)).toBe(0);
  });
});
