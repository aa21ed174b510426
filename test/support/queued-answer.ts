import { ObjectId } from 'mongodb';
import { expect } from 'vitest';
import type { Types } from 'mongoose';
import { Readable } from 'node:stream';
import { AnswerRepository } from '../../src/answers/answer.repository.js';
import { AnswerAudioStore } from '../../src/audio/answer-audio.store.js';
import { Sha256Meter } from '../../src/common/sha256-meter.js';
import { freshQueueState } from '../../src/interview-record/answer-queue-state.schema.js';
import type { Answer } from '../../src/interview-record/answer.schema.js';
import { SessionRepository } from '../../src/sessions/session.repository.js';
import type { AnswerJob } from '../../src/transcription/answer-job.js';
import { TranscribeAnswerJob } from '../../src/transcription/transcribe-answer.job.js';
import type { MediumApp } from './medium.js';

export interface QueuedAnswerSession {
  /** The session's questions; the answer is always q1's. */
  questionIds?: string[];
  webhookUrl?: string | null;
  /** q1's vocabulary. */
  vocabulary?: string[];
}

/**
 * A medium test's session of alice's whose answer to q1 has real audio in GridFS, queued as an
 * upload leaves it (the same repositories the intake uses, without HTTP).
 */
export async function queuedAnswer(
  app: MediumApp,
  audio: Buffer,
  { questionIds = ['q1'], webhookUrl = null, vocabulary }: QueuedAnswerSession = {},
): Promise<{ sessionId: Types.ObjectId; fileId: Types.ObjectId }> {
  const now = app.clock.now();
  const questions = questionIds.map((id) => ({
    question_id: id,
    text: 'Q?',
    model_answer: '',
    ...(id === 'q1' && vocabulary ? { vocabulary } : {}),
  }));
  const session = await app
    .get(SessionRepository)
    .create('alice', { title: '', questions, webhookUrl, language: null }, now);
  const answerId = new ObjectId().toHexString();
  const stored = await app.get(AnswerAudioStore).save(Readable.from([audio]), 'q1.wav', {
    session_id: session._id,
    question_id: 'q1',
    user_id: 'alice',
    answer_id: answerId,
    content_type: 'audio/wav',
    upload_date: now,
    status: 'queued',
  });
  const meter = new Sha256Meter();
  meter.update(audio);
  const answer: Answer = {
    id: answerId,
    question_id: 'q1',
    gridfs_file_id: stored.fileId,
    transcription_status: 'queued',
    transcript: null,
    transcribed_at: null,
    transcription_error: null,
    created_at: now,
    updated_at: now,
    ...freshQueueState(now),
    audio: { format: 'wav', content_type: 'audio/wav', size_bytes: audio.length, sha256: meter.digest() },
  };
  await app.get(AnswerRepository).replace(session._id, 'alice', answer);
  return { sessionId: session._id, fileId: stored.fileId };
}

/** The due job of the session's answer, as the scheduler's scan would find it now (fails the test when none is). */
export async function dueJob(app: MediumApp, sessionId: Types.ObjectId): Promise<AnswerJob> {
  const due = await app.get(TranscribeAnswerJob).findDue(app.clock.now());
  const found = due.find((j) => String(j.sessionId) === String(sessionId));
  expect(found).toBeDefined();
  return found!;
}
