import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Types } from 'mongoose';
import { ANSWER_QUEUED, dueAnswer } from '../interview-record/answer-events.js';
import { answerOf } from '../interview-record/answer-paths.js';
import * as plans from '../interview-record/answer-plans.js';
import type { Answer } from '../interview-record/answer.schema.js';
import { SessionDocuments } from '../interview-record/session-documents.js';

/**
 * What the candidate does to an answer: upload (replacing the previous one), withdraw, retry a
 * failed one; and the cleanup letting a settled answer's audio go. Each runs one plan of
 * answer-plans.ts as one conditional update; an answer that becomes queued is announced as
 * ANSWER_QUEUED.
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
    const { filter, update } = plans.replace(userId, answer, replacing);
    const previous = await this.documents.findOneAndUpdate(sessionId, filter, update, 'before');
    if (!previous) return undefined;
    this.queued(sessionId, answer);
    return answerOf(previous.answers, answer.question_id) ?? null;
  }

  /** Removes one answer; returns it as it was, or undefined if the session could not take it. */
  async withdraw(
    sessionId: Types.ObjectId,
    userId: string,
    questionId: string,
    now: Date,
  ): Promise<Answer | undefined> {
    const { filter, update } = plans.withdraw(userId, questionId, now);
    const before = await this.documents.findOneAndUpdate(sessionId, filter, update, 'before');
    return answerOf(before?.answers, questionId);
  }

  /** Queues a failed answer again if its audio is still kept. Returns the answer as it was before. */
  async requeueFailed(
    sessionId: Types.ObjectId,
    userId: string,
    questionId: string,
    now: Date,
  ): Promise<Answer | null> {
    const { filter, update } = plans.requeueFailed(userId, questionId, now);
    const before = await this.documents.findOneAndUpdate(sessionId, filter, update, 'before');
    const answer = answerOf(before?.answers, questionId);
    if (!answer) return null;
    this.queued(sessionId, { ...answer, ...plans.requeuedFields(now) });
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
    const { filter, update } = plans.releaseAudio(questionId, fileId, status, now);
    return this.documents.updateOne(sessionId, filter, update);
  }

  /** "Look now" for the workers of this process; the document is what counts. */
  private queued(sessionId: Types.ObjectId, answer: Answer): void {
    this.events.emit(ANSWER_QUEUED, dueAnswer(sessionId, answer.question_id, answer));
  }
}
