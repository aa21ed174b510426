import { EventEmitter2 } from '@nestjs/event-emitter';
import { ThrottlerModule } from '@nestjs/throttler';
import { Binary, ObjectId } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AnswerRepository } from '../../src/answers/answer.repository.js';
import { AnswersModule } from '../../src/answers/answers.module.js';
import { AnswerIntake } from '../../src/answers/intake/answer-intake.js';
import { UploadCompletion } from '../../src/answers/resumable/upload-completion.js';
import { ResumableUploadDocuments } from '../../src/audio/resumable-upload.documents.js';
import type { ResumableUpload } from '../../src/audio/resumable-upload.schema.js';
import { ANSWER_QUEUED } from '../../src/interview-record/answer-events.js';
import { seedSession } from '../support/factories.js';
import { startMedium, type MediumApp } from '../support/medium.js';

/*
 * Races around the completion of a tus upload that the lease alone does not rule out (a holder
 * paused past its lease, a write that lands late, another upload's answer landing between a read
 * and a write), each put in a precise order by holding one step at a gate.
 */
let app: MediumApp;
let completion: UploadCompletion;
let documents: ResumableUploadDocuments;
let repository: AnswerRepository;
const queued: string[] = [];

beforeAll(async () => {
  // the module's controllers name the rate limiter's guard, which wants its options
  const throttling = ThrottlerModule.forRoot([{ name: 'uploads', ttl: 60_000, limit: 1000 }]);
  app = await startMedium('tus-completion', { imports: [throttling, AnswersModule] });
  completion = app.get(UploadCompletion);
  documents = app.get(ResumableUploadDocuments);
  repository = app.get(AnswerRepository);
  app.get(EventEmitter2).on(ANSWER_QUEUED, (event: { questionId: string }) => queued.push(event.questionId));
});
afterAll(() => app?.close());
afterEach(() => {
  vi.restoreAllMocks();
  queued.length = 0;
});

/** A gate: `wait` resolves once the test calls `open`; `reached` once something waits at it. */
function gate() {
  let open!: () => void;
  let reached!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const arrived = new Promise<void>((r) => (reached = r));
  return { open, reached: arrived, wait: () => (reached(), opened) };
}

/** An upload of `question` with every byte in (one chunk), held by `token`, not yet completed. */
async function uploadedAll(question: string, token: string): Promise<ResumableUpload> {
  const sessionId = await seedSession(app.db, { userId: 'alice', questions: [{ question_id: question, text: 'q' }] });
  const id = new ObjectId();
  const now = app.clock.now();
  const doc: ResumableUpload = {
    _id: id,
    user_id: 'alice',
    session_id: new ObjectId(sessionId),
    question_id: question,
    size: 4,
    offset: 4,
    next_n: 1,
    chunk_size: 1024,
    tail: new Binary(Buffer.alloc(0)),
    hash_state: null,
    metadata: {},
    format: null,
    created_at: now,
    expires_at: new Date(now.getTime() + 86_400_000),
    complete: false,
    sha256: null,
    answer_id: null,
    lease_owner: null,
    lease_until: null,
  };
  await documents.create(doc);
  await documents.insertChunks(id, token, 0, [Buffer.from('RIFF')]);
  expect(await documents.acquire(id, token, now, 60_000)).toBe('held');
  return (await documents.get(id))!;
}

const DONE = { sha256: 'ab'.repeat(32), chunkCount: 1, format: { extension: 'wav', content_type: 'audio/wav' } };

async function answerOf(doc: ResumableUpload) {
  const session = await app.db.collection('interview_sessions').findOne({ _id: doc.session_id });
  return session!.answers?.[doc.question_id];
}

describe('finishing a tus upload', () => {
  it('queues the answer once when a paused first try lands after another request finished it', async () => {
    const doc = await uploadedAll('r1', 'first');
    // the first try's attach is held before it reaches the database (its holder paused)
    const held = gate();
    const replace = repository.replace.bind(repository);
    const spy = vi.spyOn(repository, 'replace').mockImplementationOnce(async (...args) => {
      await held.wait();
      return replace(...args);
    });
    const first = completion.complete(doc, 'first', DONE);
    await held.reached;
    // meanwhile its lease ran out, and a HEAD took the upload and finished it
    await app.db.collection('resumable_uploads').updateOne({ _id: doc._id }, { $set: { lease_owner: 'head' } });
    const complete = (await documents.get(doc._id))!;
    expect(complete).toMatchObject({ complete: true, replaces: null });
    const byHead = await completion.finish(complete, 'head');
    expect(byHead.sha256).toBe(DONE.sha256);
    const attached = await answerOf(doc);
    expect(attached).toMatchObject({ id: complete.answer_id, transcription_status: 'queued' });
    // the answer is being transcribed when the paused try goes on
    await app.db
      .collection('interview_sessions')
      .updateOne({ _id: doc.session_id }, { $set: { 'answers.r1.transcription_status': 'processing' } });
    held.open();
    expect((await first).sha256).toBe(DONE.sha256);
    expect(spy).toHaveBeenCalledTimes(2);
    // not queued again: the transcription in flight is the only one
    expect(await answerOf(doc)).toMatchObject({ id: complete.answer_id, transcription_status: 'processing' });
    expect(queued).toEqual(['r1']);
    expect(await documents.get(doc._id)).toBeNull();
    expect(await app.db.collection('fs.files').countDocuments({ _id: doc._id })).toBe(1);
  });

  it('keeps a newer answer that lands between the finishing read and its write, and removes the upload', async () => {
    const doc = await uploadedAll('r2', 'first');
    // the first try fails at the attach: the upload is left complete
    vi.spyOn(repository, 'replace').mockRejectedValueOnce(new Error('injected: the write did not happen'));
    await expect(completion.complete(doc, 'first', DONE)).rejects.toThrow('injected');
    const complete = (await documents.get(doc._id))!;
    expect(complete.complete).toBe(true);
    // the next try reads the session, then is held before its write
    const held = gate();
    const replace = repository.replace.bind(repository);
    vi.spyOn(repository, 'replace').mockImplementationOnce(async (...args) => {
      await held.wait();
      return replace(...args);
    });
    const again = completion.finish(complete, 'first');
    await held.reached;
    // a newer answer (a multipart upload) lands meanwhile
    const newer = await app.get(AnswerIntake).accept({
      session: { _id: doc.session_id } as never,
      userId: 'alice',
      questionId: 'r2',
      answerId: 'newer-answer',
      stored: { fileId: new ObjectId(), sizeBytes: 10 },
      format: { extension: 'wav', contentType: 'audio/wav' },
      sha256: 'cd'.repeat(32),
      requestId: null,
    });
    expect(newer.sha256).toBe('cd'.repeat(32));
    held.open();
    await expect(again).rejects.toMatchObject({ status_code: 409 });
    expect(await answerOf(doc)).toMatchObject({ id: 'newer-answer' });
    expect(queued).toEqual(['r2']);
    // the refused upload is gone with its audio
    expect(await documents.get(doc._id)).toBeNull();
    expect(await app.db.collection('fs.files').countDocuments({ _id: doc._id })).toBe(0);
    expect(await app.db.collection('fs.chunks').countDocuments({ files_id: doc._id })).toBe(0);
  });
});
