import { EventEmitter2 } from '@nestjs/event-emitter';
import { ObjectId } from 'mongodb';
import { Types } from 'mongoose';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DocumentLocks } from '../../src/database/document-locks.js';
import { SessionDocuments, sessionLockKey } from '../../src/interview-record/session-documents.js';
import { AnswerDataModule } from '../../src/answers/answer-data.module.js';
import { AnswerRepository } from '../../src/answers/answer.repository.js';
import type { Answer } from '../../src/interview-record/answer.schema.js';
import { isClaimable } from '../../src/interview-record/claimable-states.js';
import { QueueModule } from '../../src/transcription/queue/queue.module.js';
import { freshQueueState } from '../../src/interview-record/answer-queue-state.schema.js';
import { TranscriptionQueue } from '../../src/transcription/queue/transcription-queue.js';
import { WorkIndex } from '../../src/transcription/queue/work-index.js';
import { SessionRepository } from '../../src/sessions/session.repository.js';
import { SESSION_CHANGED, type SessionChangedEvent } from '../../src/interview-record/session-events.js';
import { startMedium, type MediumApp } from '../support/medium.js';

const LEASE_MS = 30_000;
let app: MediumApp;
let queue: TranscriptionQueue;
let workIndex: WorkIndex;
let sessions: SessionRepository;
let answers: AnswerRepository;

beforeAll(async () => {
  app = await startMedium('queue', { imports: [QueueModule, AnswerDataModule] });
  queue = app.get(TranscriptionQueue);
  workIndex = app.get(WorkIndex);
  sessions = app.get(SessionRepository);
  answers = app.get(AnswerRepository);
});
afterAll(() => app?.close());

let sessionId: Types.ObjectId;
let fileId: Types.ObjectId;

/** A fresh session with one queued answer pointing at a (pretend) file. */
async function queuedAnswer(questionId = 'q1'): Promise<Answer> {
  const now = app.clock.now();
  const session = await sessions.create(
    'alice',
    {
      title: 't',
      questions: [{ question_id: questionId, text: 'Q?', model_answer: '' }],
      webhookUrl: null,
      language: 'en',
    },
    now,
  );
  sessionId = session._id;
  fileId = new Types.ObjectId();
  const answer: Answer = {
    id: new ObjectId().toHexString(),
    question_id: questionId,
    gridfs_file_id: fileId,
    transcription_status: 'queued',
    transcript: null,
    transcribed_at: null,
    transcription_error: null,
    created_at: now,
    updated_at: now,
    ...freshQueueState(now),
    audio: { format: 'wav', content_type: 'audio/wav', size_bytes: 100 },
  };
  expect(await answers.replace(sessionId, 'alice', answer)).toBeNull();
  return answer;
}

/** What a job keeps of the provider's answer `text` (no speech measure, nothing flagged). */
const transcriptOf = (transcript: string) => ({
  transcript,
  language: null,
  duration_seconds: null,
  segments: null,
  speech: null,
  no_speech: false,
  suspect_hallucination: false,
});

/** Due answers of this test's session (earlier tests leave theirs in the collection). */
const dueHere = async (now: Date) =>
  (await workIndex.findDueAnswers(now)).filter((d) => String(d.sessionId) === String(sessionId));
const stored = async () => (await app.db.collection('interview_sessions').findOne({ _id: sessionId }))!;
const leaseFrom = (now: Date) => new Date(now.getTime() + LEASE_MS);

describe('claims', () => {
  beforeEach(() => queuedAnswer());

  it('takes a queued answer once: processing with a lease and one attempt', async () => {
    const now = app.clock.now();
    const claimed = await queue.claim(sessionId, 'q1', fileId, 'claim-a', LEASE_MS);
    expect(claimed?.answer).toMatchObject({ transcription_status: 'processing', claim_id: 'claim-a', attempts: 1 });
    expect(claimed?.sessionLanguage).toBe('en');
    expect(await queue.claim(sessionId, 'q1', fileId, 'claim-b', LEASE_MS)).toBeNull();
    const doc = await stored();
    expect(doc.answers.q1).toMatchObject({ claim_id: 'claim-a', lease_until: leaseFrom(now), attempts: 1 });
    expect(doc.work_due_at).toEqual(now); // the upload's due time, earlier than the lease
  });

  it('refuses a claim for audio the answer no longer points at (a re-upload)', async () => {
    expect(await queue.claim(sessionId, 'q1', new Types.ObjectId(), 'claim-a', LEASE_MS)).toBeNull();
    expect((await stored()).answers.q1.transcription_status).toBe('queued');
  });

  it('lets another worker take over only once the lease has lapsed', async () => {
    await queue.claim(sessionId, 'q1', fileId, 'claim-a', LEASE_MS);
    app.clock.advance(LEASE_MS); // exactly at the lease's end: still held
    expect(await queue.claim(sessionId, 'q1', fileId, 'claim-b', LEASE_MS)).toBeNull();
    app.clock.advance(1);
    const taken = await queue.claim(sessionId, 'q1', fileId, 'claim-b', LEASE_MS);
    expect(taken?.answer).toMatchObject({ claim_id: 'claim-b', attempts: 2 });
  });

  it('runs a lease from when the claim is written: a wait for the busy session does not shorten it', async () => {
    let release: (() => void) | undefined;
    const busy = app
      .get(DocumentLocks)
      .withLock(sessionLockKey(sessionId), () => new Promise<void>((resolve) => (release = resolve)));
    await vi.waitFor(() => expect(release).toBeDefined());
    const claim = queue.claim(sessionId, 'q1', fileId, 'claim-a', LEASE_MS);
    const writtenAt = app.clock.advance(20_000); // the claim waits this long for the session
    release!();
    await busy;
    const leaseUntil = new Date(writtenAt.getTime() + LEASE_MS);
    expect((await claim)?.answer).toMatchObject({
      claim_id: 'claim-a',
      lease_until: leaseUntil,
      updated_at: writtenAt,
    });
    expect((await stored()).answers.q1).toMatchObject({ claim_id: 'claim-a', lease_until: leaseUntil });

    const renewedAt = app.clock.advance(5_000);
    const renewal = queue.renewLease(sessionId, 'q1', 'claim-a', LEASE_MS);
    expect(await renewal).toBe(true);
    expect((await stored()).answers.q1.lease_until).toEqual(new Date(renewedAt.getTime() + LEASE_MS));
  });

  it('keeps a renewed claim past its first lease', async () => {
    await queue.claim(sessionId, 'q1', fileId, 'claim-a', LEASE_MS);
    app.clock.advance(LEASE_MS / 2);
    expect(await queue.renewLease(sessionId, 'q1', 'claim-a', LEASE_MS)).toBe(true);
    app.clock.advance(LEASE_MS); // past the first lease, inside the renewed one
    expect(await queue.claim(sessionId, 'q1', fileId, 'claim-b', LEASE_MS)).toBeNull();
    expect(await queue.renewLease(sessionId, 'q1', 'claim-b', LEASE_MS)).toBe(false);
  });
});

describe('settling', () => {
  beforeEach(() => queuedAnswer());

  it('lets only the holder settle: a worker whose lease lapsed and was taken over writes nothing', async () => {
    await queue.claim(sessionId, 'q1', fileId, 'claim-a', LEASE_MS);
    const now = app.clock.advance(LEASE_MS + 1);
    await queue.claim(sessionId, 'q1', fileId, 'claim-b', LEASE_MS);
    const result = transcriptOf('late');
    expect(await queue.complete(sessionId, 'q1', 'claim-a', result, now)).toBeNull();
    expect(await queue.fail(sessionId, 'q1', 'claim-a', 'nope', now)).toBeNull();
    expect((await stored()).answers.q1).toMatchObject({
      transcription_status: 'processing',
      claim_id: 'claim-b',
      transcript: null,
    });

    const refreshes = vi.spyOn(app.get(SessionDocuments), 'updateOne');
    const done = await queue.complete(sessionId, 'q1', 'claim-b', { ...result, transcript: 'hello' }, now);
    expect(done?.answers.q1).toMatchObject({
      transcription_status: 'completed',
      transcript: 'hello',
      transcribed_at: now,
      gridfs_file_id: null,
      claim_id: null,
      lease_until: null,
      attempts: 2,
    });
    // nothing is left to do, so the session leaves the work index, in the completion's own write
    expect((await stored()).work_due_at).toBeUndefined();
    expect(refreshes).not.toHaveBeenCalled();
    refreshes.mockRestore();
  });

  it('knows its own completion applied by an earlier try whose reply was lost, by its stamp, and announces it', async () => {
    await queue.claim(sessionId, 'q1', fileId, 'claim-a', LEASE_MS);
    const at = app.clock.advance(1_000);
    const result = transcriptOf('hello');
    expect(await queue.complete(sessionId, 'q1', 'claim-a', result, at)).not.toBeNull();
    const announced: SessionChangedEvent[] = [];
    const listener = (event: SessionChangedEvent) => announced.push(event);
    app.get(EventEmitter2).on(SESSION_CHANGED, listener);
    try {
      // the try again of the same completion (the claim is gone: the first try took it)
      const again = await queue.complete(sessionId, 'q1', 'claim-a', result, at);
      expect(again?.answers.q1).toMatchObject({
        transcription_status: 'completed',
        transcript: 'hello',
        transcribed_at: at,
      });
      expect(announced).toEqual([{ sessionId: String(sessionId), session: again }]);
      expect((await queue.appliedCompletion(sessionId, 'q1', at))?.answers.q1.transcribed_at).toEqual(at);
      expect(announced).toHaveLength(2);
      // a completion stamped otherwise is not this one: the answer was completed by another
      const other = app.clock.advance(1);
      expect(await queue.complete(sessionId, 'q1', 'claim-a', result, other)).toBeNull();
      expect(await queue.appliedCompletion(sessionId, 'q1', other)).toBeNull();
      expect(announced).toHaveLength(2);
    } finally {
      app.get(EventEmitter2).off(SESSION_CHANGED, listener);
    }
    expect((await stored()).answers.q1).toMatchObject({
      transcription_status: 'completed',
      attempts: 1,
      transcribed_at: at,
    });
  });

  it('schedules a retry: not claimable before its time, claimable after', async () => {
    const start = app.clock.now();
    await queue.claim(sessionId, 'q1', fileId, 'claim-a', LEASE_MS);
    const retryAt = new Date(start.getTime() + 5_000);
    await queue.retryLater(sessionId, 'q1', 'claim-a', 'The provider failed (503).', retryAt, start);
    const doc = await stored();
    expect(doc.answers.q1).toMatchObject({
      transcription_status: 'queued',
      next_attempt_at: retryAt,
      transcription_error: 'The provider failed (503).',
      claim_id: null,
      attempts: 1,
    });
    expect(doc.work_due_at).toEqual(retryAt);

    let now = app.clock.advance(4_999);
    expect(await dueHere(now)).toEqual([]);
    expect(await queue.claim(sessionId, 'q1', fileId, 'claim-b', LEASE_MS)).toBeNull();
    now = app.clock.advance(1);
    expect(await dueHere(now)).toEqual([
      expect.objectContaining({ sessionId, questionId: 'q1', fileId, dueAt: retryAt }),
    ]);
    expect((await queue.claim(sessionId, 'q1', fileId, 'claim-b', LEASE_MS))?.answer.attempts).toBe(2);
  });

  it('hands work back on shutdown with the attempt given back, due at once', async () => {
    const start = app.clock.now();
    await queue.claim(sessionId, 'q1', fileId, 'claim-a', LEASE_MS);
    const now = app.clock.advance(1_000);
    await queue.handBack(sessionId, 'q1', 'claim-a', now);
    const doc = await stored();
    expect(doc.answers.q1).toMatchObject({
      transcription_status: 'queued',
      attempts: 0,
      claim_id: null,
      next_attempt_at: null,
    });
    expect(doc.work_due_at).toEqual(start); // queued_at: due since the upload
  });
});

describe('the work index', () => {
  it("after a completion that leaves another answer queued, is that answer's due time", async () => {
    const first = await queuedAnswer();
    const firstFile = fileId;
    const start = app.clock.now();
    // a second question, answered a second later (queuedAnswer's session has one question: add one)
    await app.db
      .collection<{ _id: Types.ObjectId; questions: object[] }>('interview_sessions')
      .updateOne({ _id: sessionId }, { $push: { questions: { question_id: 'q2', text: 'Q2?', model_answer: '' } } });
    app.clock.advance(1_000);
    const second = {
      ...first,
      id: new ObjectId().toHexString(),
      question_id: 'q2',
      gridfs_file_id: new Types.ObjectId(),
    };
    Object.assign(second, {
      created_at: app.clock.now(),
      updated_at: app.clock.now(),
      ...freshQueueState(app.clock.now()),
    });
    expect(await answers.replace(sessionId, 'alice', second)).toBeNull();
    await queue.claim(sessionId, 'q1', firstFile, 'claim-a', LEASE_MS);
    const result = transcriptOf('one');
    expect(await queue.complete(sessionId, 'q1', 'claim-a', result, app.clock.now())).not.toBeNull();
    expect((await stored()).work_due_at).toEqual(second.queued_at);
    expect(second.queued_at.getTime()).toBe(start.getTime() + 1_000);
  });

  it('finds a lapsed processing answer, and corrects a session scanned too early', async () => {
    await queuedAnswer();
    const start = app.clock.now();
    await queue.claim(sessionId, 'q1', fileId, 'claim-a', LEASE_MS);
    // work_due_at is still the upload time; a scan now finds nothing claimable and moves it to the lease's end
    const early = app.clock.advance(1_000);
    expect(await dueHere(early)).toEqual([]);
    expect((await stored()).work_due_at).toEqual(leaseFrom(start));
    const late = app.clock.advance(LEASE_MS);
    expect(await dueHere(late)).toEqual([expect.objectContaining({ questionId: 'q1', dueAt: leaseFrom(start) })]);
  });
});

describe('claimability', () => {
  it('isClaimable says what the claim on the server does, state by state', async () => {
    const at = (ms: number) => new Date(app.clock.nowMs() + ms);
    const states: Partial<Answer>[] = [
      { transcription_status: 'queued', next_attempt_at: null },
      { transcription_status: 'queued', next_attempt_at: at(-1) },
      { transcription_status: 'queued', next_attempt_at: at(0) },
      { transcription_status: 'queued', next_attempt_at: at(1) },
      { transcription_status: 'processing', claim_id: 'x', lease_until: at(-1) },
      { transcription_status: 'processing', claim_id: 'x', lease_until: at(0) },
      { transcription_status: 'processing', claim_id: 'x', lease_until: at(1) },
      { transcription_status: 'completed' },
      { transcription_status: 'failed' },
      { transcription_status: 'queued', gridfs_file_id: null },
    ];
    for (const state of states) {
      const answer = { ...(await queuedAnswer()), ...state };
      await app.db.collection('interview_sessions').updateOne({ _id: sessionId }, { $set: { 'answers.q1': answer } });
      const now = app.clock.now();
      const claimed = await queue.claim(sessionId, 'q1', fileId, 'claim-a', LEASE_MS);
      expect({ state, claimed: claimed !== null }).toEqual({ state, claimed: isClaimable(answer, now) });
    }
  });
});
