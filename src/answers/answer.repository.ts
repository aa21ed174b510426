import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Types } from 'mongoose';
import { SessionDocuments } from '../sessions/session-documents.js';
import { ANSWER_QUEUED, type AnswerQueuedEvent } from './answer-events.js';
import type { Answer } from './answer.schema.js';

export const answerPath = (questionId: string) => `answers.${questionId}`;

/** Prefixes every key of `fields` with the answer's path, for a $set. */
export function answerFields(questionId: string, fields: Partial<Answer>): Record<string, unknown> {
  const prefix = answerPath(questionId);
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [`${prefix}.${key}`, value]));
}

/**
 * What the candidate does to an answer: upload (replacing the previous one), withdraw, retry a
 * failed one; and the cleanup letting a settled answer's audio go. Each is one conditional update
 * of the session document; an answer that becomes queued is announced as ANSWER_QUEUED.
 */
@Injectable()
export class AnswerRepository {
  constructor(
    private readonly documents: SessionDocuments,
    private readonly events: EventEmitter2,
  ) {}

  /**
   * Makes `answer` the current answer to the question, if the session is still open and the question
   * does not hold this very answer already (a completion tried again must not queue it twice). With
   * `replacing` (an answer id, or null for none), only while the question still holds that one. The
   * caller has checked that the session has the question (questions never change after creation): a
   * filter through the questions array would match nothing on FerretDB's PostgreSQL backend. Returns
   * the previous answer (null if there was none), or undefined if nothing changed.
   */
  async replace(
    sessionId: Types.ObjectId,
    userId: string,
    answer: Answer,
    replacing?: string | null,
  ): Promise<Answer | null | undefined> {
    const a = answerPath(answer.question_id);
    const held =
      replacing === undefined
        ? { [`${a}.id`]: { $ne: answer.id } }
        : replacing === null
          ? { [a]: { $exists: false } }
          : { [`${a}.id`]: replacing };
    const previous = await this.documents.findOneAndUpdate(
      sessionId,
      { user_id: userId, status: 'in_progress', ...held },
      {
        $set: { [answerPath(answer.question_id)]: answer, updated_at: answer.updated_at },
        $inc: { rev: 1 },
        $min: { work_due_at: answer.queued_at },
      },
      'before',
    );
    if (!previous) return undefined;
    this.queued(sessionId, answer);
    return previous.answers?.[answer.question_id] ?? null;
  }

  /** Removes one answer; returns it as it was, or undefined if the session could not take it. */
  async withdraw(
    sessionId: Types.ObjectId,
    userId: string,
    questionId: string,
    now: Date,
  ): Promise<Answer | undefined> {
    const a = answerPath(questionId);
    const before = await this.documents.findOneAndUpdate(
      sessionId,
      { user_id: userId, status: 'in_progress', [a]: { $exists: true } },
      { $unset: { [a]: '' }, $set: { updated_at: now }, $inc: { rev: 1 } },
      'before',
    );
    return before?.answers?.[questionId];
  }

  /** Queues a failed answer again if its audio is still kept. Returns the answer as it was before. */
  async requeueFailed(
    sessionId: Types.ObjectId,
    userId: string,
    questionId: string,
    now: Date,
  ): Promise<Answer | null> {
    const a = answerPath(questionId);
    const before = await this.documents.findOneAndUpdate(
      sessionId,
      {
        user_id: userId,
        status: 'in_progress',
        [`${a}.transcription_status`]: 'failed',
        [`${a}.gridfs_file_id`]: { $ne: null },
      },
      {
        $set: {
          ...answerFields(questionId, {
            transcription_status: 'queued',
            transcription_error: null,
            attempts: 0,
            next_attempt_at: null,
            queued_at: now,
            updated_at: now,
          }),
          updated_at: now,
        },
        $inc: { rev: 1 },
        $min: { work_due_at: now },
      },
      'before',
    );
    const answer = before?.answers?.[questionId];
    if (!answer) return null;
    this.queued(sessionId, { ...answer, queued_at: now });
    return answer;
  }

  /**
   * Lets a settled answer drop its audio pointer (the cleanup then deletes the file), only while it
   * still points at `fileId` with `status`. A failed answer records when its audio expired.
   */
  releaseAudio(
    sessionId: Types.ObjectId,
    questionId: string,
    fileId: Types.ObjectId,
    status: 'completed' | 'failed',
    now: Date,
  ): Promise<boolean> {
    const a = answerPath(questionId);
    return this.documents.updateOne(
      sessionId,
      { [`${a}.transcription_status`]: status, [`${a}.gridfs_file_id`]: fileId },
      {
        $set: answerFields(questionId, {
          gridfs_file_id: null,
          updated_at: now,
          ...(status === 'failed' ? { audio_expired_at: now } : {}),
        }),
        $inc: { rev: 1 },
      },
    );
  }

  /** "Look now" for the workers of this process; the document is what counts. */
  private queued(sessionId: Types.ObjectId, answer: Answer): void {
    const event: AnswerQueuedEvent = {
      sessionId,
      questionId: answer.question_id,
      fileId: answer.gridfs_file_id!,
      queuedAt: answer.queued_at,
      requestId: answer.request_id,
      traceContext: answer.trace_context,
    };
    this.events.emit(ANSWER_QUEUED, event);
  }
}
