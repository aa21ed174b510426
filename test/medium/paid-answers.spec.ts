import { Types } from 'mongoose';
import { buffer } from 'node:stream/consumers';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AnswerDataModule } from '../../src/answers/answer-data.module.js';
import { DocumentLockTimeout } from '../../src/database/document-locks.js';
import { SessionDocuments } from '../../src/interview-record/session-documents.js';
import { freeSlot, LOST_CLAIM } from '../../src/transcription/job-scheduler.js';
import { TranscribeAnswerJob } from '../../src/transcription/transcribe-answer.job.js';
import { TranscriptionModule } from '../../src/transcription/transcription.module.js';
import { TranscriptionWorker } from '../../src/transcription/transcription.worker.js';
import { speechLikeWav, wavTone } from '../support/audio.js';
import { eventually } from '../support/database.js';
import { expectedTranscript, FakeOpenAI, sha256Of } from '../support/fake-openai.js';
import { startMedium, type MediumApp } from '../support/medium.js';
import { dueJob as dueJobOf, queuedAnswer } from '../support/queued-answer.js';

/**
 * Every write that follows a paid provider answer is retried with the answer in hand, never by
 * asking the provider again: a long recording's pieces, the held result, the completion. A database
 * fault is injected at the moment of each write (the error a lock timeout throws).
 */
const LEASE_MS = 30_000;
let app: MediumApp;
let fake: FakeOpenAI;
let job: TranscribeAnswerJob;
let longAudio: Buffer;

beforeAll(async () => {
  fake = await FakeOpenAI.start();
  app = await startMedium('paid-answers', {
    imports: [TranscriptionModule, AnswerDataModule],
    env: {
      OPENAI_API_KEY: 'sk-medium',
      OPENAI_BASE_URL: fake.url,
      TRANSCRIPTION_MODEL: 'whisper-1',
      TRANSCRIPTION_MAX_ATTEMPTS: '3',
      TRANSCRIPTION_POLL_MS: '600000',
      // a 40 s recording is "large" here: compressed and cut into pieces of at most 10 s
      TRANSCRIPTION_MAX_FILE_BYTES: String(64 * 1024),
      TRANSCRIPTION_PIECE_SECONDS: '10',
      TRANSCRIPTION_PIECE_CONCURRENCY: '2',
    },
  });
  await app.get(TranscriptionWorker).scheduler.stop();
  job = app.get(TranscribeAnswerJob);
  longAudio = await buffer(speechLikeWav(40, 16_000));
});
afterAll(async () => {
  await app?.close();
  await fake?.close();
});
beforeEach(() => fake.reset());
afterEach(() => vi.restoreAllMocks());

const uploaded = (audio: Buffer, vocabulary?: string[]) => queuedAnswer(app, audio, { vocabulary });

const dueJob = (sessionId: Types.ObjectId) => dueJobOf(app, sessionId);

/** Claims and runs the answer's job as the scheduler would, again after each retry's delay, until it settles. */
async function runUntilSettled(sessionId: Types.ObjectId): Promise<void> {
  for (let round = 0; round < 3; round++) {
    await (await job.claim(await dueJob(sessionId)))!.run(never, freeSlot);
    if (['completed', 'failed'].includes((await answerOf(sessionId)).transcription_status)) return;
    app.clock.advance(60_000);
  }
}

const answerOf = async (sessionId: Types.ObjectId) =>
  (await app.db.collection('interview_sessions').findOne({ _id: sessionId }))!.answers.q1;
const never = new AbortController().signal;
const setOf = (update: unknown) => (update as { $set?: Record<string, unknown> }).$set ?? {};

/** How many times the provider was sent each piece of q1, in piece order. */
function sendsPerPiece(): number[] {
  const counts: number[] = [];
  for (const r of fake.requestsFor('q1')) counts[r.piece!] = (counts[r.piece!] ?? 0) + 1;
  return Array.from(counts, (n) => n ?? 0);
}

/** The transcript the pieces the provider answered make, joined in order. */
const joinedTranscript = () =>
  fake
    .requestsFor('q1')
    .filter((r) => r.status === 200)
    .sort((a, b) => a.piece! - b.piece!)
    .map((r) => expectedTranscript(r.sha256))
    .join(' ');

/** Makes the write that keeps piece `index` of q1 fail (a lock timeout) while `failing()` says so. */
function failPieceWrites(index: number, failing: (calls: number) => boolean) {
  const documents = app.get(SessionDocuments);
  const original = documents.updateOne.bind(documents);
  let calls = 0;
  return vi.spyOn(documents, 'updateOne').mockImplementation(async (id, filter, update) => {
    if (`answers.q1.pieces.${index}` in setOf(update) && failing(++calls)) {
      throw new DocumentLockTimeout(`timed out waiting for the lock on interview_sessions:${String(id)}`);
    }
    return original(id, filter, update);
  });
}

describe('a long recording whose piece write fails after the provider answered', () => {
  it('keeps the piece by retrying the write: each piece is sent once and the transcript is complete', async () => {
    const { sessionId, fileId } = await uploaded(longAudio);
    const spy = failPieceWrites(1, (calls) => calls === 1);
    await runUntilSettled(sessionId);

    const perPiece = sendsPerPiece();
    expect(perPiece.length).toBeGreaterThanOrEqual(4);
    expect(perPiece).toEqual(perPiece.map(() => 1));
    const pieceOneWrites = spy.mock.calls.filter(([, , update]) => 'answers.q1.pieces.1' in setOf(update));
    expect(pieceOneWrites).toHaveLength(2); // the failed one and its retry
    expect(await answerOf(sessionId)).toMatchObject({
      transcription_status: 'completed',
      transcript: joinedTranscript(),
      attempts: 1,
      transcription_error: null,
      pieces: null,
      gridfs_file_id: null,
    });
    expect(await app.db.collection('fs.files').countDocuments({ _id: fileId })).toBe(0);
  });

  it('stops retrying once its claim is lost, and the next holder sends only the pieces never kept', async () => {
    const { sessionId } = await uploaded(longAudio);
    const spy = failPieceWrites(0, () => true);
    const stop = new AbortController();
    const running = (await job.claim(await dueJob(sessionId)))!.run(stop.signal, freeSlot);
    await eventually(async () => {
      expect(spy.mock.calls.filter(([, , update]) => 'answers.q1.pieces.0' in setOf(update)).length).toBeGreaterThan(1);
    }, 20_000);
    stop.abort(LOST_CLAIM); // the scheduler's renewal found the claim gone
    await running;
    spy.mockRestore();
    expect(sendsPerPiece()[0]).toBe(1);
    const stranded = await answerOf(sessionId);
    expect(stranded).toMatchObject({ transcription_status: 'processing', transcript: null });
    expect(stranded.pieces[0]).toMatchObject({ done: false, text: null });

    app.clock.advance(LEASE_MS + 1);
    fake.reset();
    await (await job.claim(await dueJob(sessionId)))!.run(never, freeSlot);
    const neverKept = stranded.pieces.flatMap((p: { done: boolean }, i: number) => (p.done ? [] : [i]));
    expect(neverKept).toContain(0);
    expect(sendsPerPiece().flatMap((n, i) => (n ? [i] : []))).toEqual(neverKept);
    expect(sendsPerPiece().filter(Boolean)).toEqual(neverKept.map(() => 1));
    expect(await answerOf(sessionId)).toMatchObject({ transcription_status: 'completed', attempts: 2 });
  }, 60_000);
});

describe('a whole recording whose result write fails after the provider answered', () => {
  it('keeps the result by retrying the write: the provider is asked once', async () => {
    const audio = wavTone(0.3, 470);
    const { sessionId } = await uploaded(audio);
    const documents = app.get(SessionDocuments);
    const original = documents.findOneAndUpdate.bind(documents);
    let holds = 0;
    vi.spyOn(documents, 'findOneAndUpdate').mockImplementation(async (id, filter, update, returnDocument) => {
      // the write that keeps the result (the completion clears it: null)
      if (setOf(update)['answers.q1.held_result'] && ++holds <= 2) {
        throw new DocumentLockTimeout(`timed out waiting for the lock on interview_sessions:${String(id)}`);
      }
      return original(id, filter, update, returnDocument);
    });
    await (await job.claim(await dueJob(sessionId)))!.run(never, freeSlot);
    expect(holds).toBe(3); // two failed, the third kept it
    expect(fake.requestsFor('q1')).toHaveLength(1);
    expect(await answerOf(sessionId)).toMatchObject({
      transcription_status: 'completed',
      transcript: expectedTranscript(sha256Of(audio)),
      attempts: 1,
    });
  });
});

describe('a long recording whose hints the provider refuses', () => {
  it('sends the refused piece again without them, and the pieces after it without them: the answer completes and says so', async () => {
    const { sessionId } = await uploaded(longAudio, ['GridFS', 'Kubernetes']);
    fake.script('q1/part-001', {
      kind: 'status',
      status: 400,
      type: 'invalid_request_error',
      param: 'prompt',
      code: 'invalid_value',
      message: 'This server does not take a prompt this long.',
    });
    await runUntilSettled(sessionId);
    const perPiece = sendsPerPiece();
    expect(perPiece.length).toBeGreaterThanOrEqual(4);
    expect(perPiece).toEqual(perPiece.map((_, i) => (i === 1 ? 2 : 1)));
    const sent = fake.requestsFor('q1');
    const [refused, again] = sent.filter((r) => r.piece === 1);
    expect(refused.prompt).toContain('Glossary: GridFS, Kubernetes.');
    expect(again.prompt).not.toContain('Glossary');
    expect(again.sha256).toBe(refused.sha256);
    // the last piece starts rounds after the refusal (a piece sent meanwhile by the other lane may have had them)
    const last = sent.find((r) => r.piece === perPiece.length - 1)!;
    expect(last.prompt).not.toContain('Glossary');
    expect(last.prompt).toMatch(/^Umm, let me think/); // the filler-word example stays
    const answer = await answerOf(sessionId);
    expect(answer).toMatchObject({
      transcription_status: 'completed',
      transcribed_without_hints: true,
      transcript: joinedTranscript(),
      attempts: 1,
      transcription_error: null,
    });
  });
});
