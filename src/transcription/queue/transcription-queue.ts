import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Types } from 'mongoose';
import { ANSWER_QUEUED, type AnswerQueuedEvent } from '../../interview-record/answer-events.js';
import { answerFields, answerPath } from '../../interview-record/answer-paths.js';
import type { AnswerSpeech } from '../../interview-record/answer-speech.schema.js';
import type { Answer } from '../../interview-record/answer.schema.js';
import { SessionDocuments } from '../../interview-record/session-documents.js';
import type { Question, SessionRecord } from '../../interview-record/session.schema.js';
import type { PendingWebhooks } from '../../interview-record/pending-webhooks.js';
import type { AnswerPiece } from '../../interview-record/answer-queue-state.schema.js';
import {
  COMPLETE_ROUNDS,
  othersAsIn,
  withAnswer,
  type EventsOf,
  type TranscriptFields,
} from '../../interview-record/completion-facts.js';
import { WorkIndex } from './work-index.js';

export type { TranscriptFields } from '../../interview-record/completion-facts.js';

export interface Claimed {
  answer: Answer;
  sessionLanguage: string | null;
  /** The session as the claim left it. */
  session: SessionRecord;
  sessionLanguages: string[];
  /** The question answered, for the provider's hints. */
  question: Question | null;
}

/**
 * The transcription queue. The session documents are the queue: an answer is claimed (queued or
 * lapsed → processing, with a lease) by one conditional update that names the file it must still
 * point at, and settled by another that only the claim's holder can make. Every settling write
 * leaves the session's work_due_at exact (WorkIndex).
 */
@Injectable()
export class TranscriptionQueue {
  constructor(
    private readonly documents: SessionDocuments,
    private readonly workIndex: WorkIndex,
    private readonly events: EventEmitter2,
  ) {}

  /**
   * Takes the processing claim on an answer that is due (queued, or processing with a lapsed lease),
   * only while it still points at `fileId`. Returns null if another worker, a re-upload or a
   * withdrawal got there first.
   */
  async claim(
    sessionId: Types.ObjectId,
    questionId: string,
    fileId: Types.ObjectId,
    claimId: string,
    leaseUntil: Date,
    now: Date,
  ): Promise<Claimed | null> {
    const a = answerPath(questionId);
    const claimed = await this.documents.findOneAndUpdate(
      sessionId,
      {
        status: { $ne: 'erasing' },
        [`${a}.gridfs_file_id`]: fileId,
        $or: [
          { [`${a}.transcription_status`]: 'queued', [`${a}.next_attempt_at`]: null },
          { [`${a}.transcription_status`]: 'queued', [`${a}.next_attempt_at`]: { $lte: now } },
          { [`${a}.transcription_status`]: 'processing', [`${a}.lease_until`]: { $lt: now } },
        ],
      },
      {
        $set: answerFields(questionId, {
          transcription_status: 'processing',
          claim_id: claimId,
          lease_until: leaseUntil,
          next_attempt_at: null,
          updated_at: now,
        }),
        $inc: { [`${a}.attempts`]: 1, rev: 1 },
        $min: { work_due_at: leaseUntil },
      },
      'after',
    );
    const answer = claimed?.answers[questionId];
    if (!answer) return null;
    return {
      answer,
      session: claimed,
      sessionLanguage: claimed.language ?? null,
      sessionLanguages: claimed.languages ?? [],
      question: claimed.questions.find((q) => q.question_id === questionId) ?? null,
    };
  }

  /**
   * Keeps an answer queued, untouched but for the reason it waits (shown in its status), while no
   * provider is configured. Only the first call changes anything.
   */
  noteWaiting(
    sessionId: Types.ObjectId,
    questionId: string,
    fileId: Types.ObjectId,
    reason: string,
    now: Date,
  ): Promise<boolean> {
    const a = answerPath(questionId);
    return this.documents.updateOne(
      sessionId,
      {
        [`${a}.gridfs_file_id`]: fileId,
        [`${a}.transcription_status`]: 'queued',
        [`${a}.transcription_error`]: { $ne: reason },
      },
      { $set: answerFields(questionId, { transcription_error: reason, updated_at: now }), $inc: { rev: 1 } },
    );
  }

  /** Extends a held claim. False means the claim is gone and the job must stop without writing. */
  renewLease(sessionId: Types.ObjectId, questionId: string, claimId: string, leaseUntil: Date): Promise<boolean> {
    const a = answerPath(questionId);
    // an erasing session's job may finish its call (it then writes nothing): only writes are fenced
    const { status: _erasing, ...held } = this.held(questionId, claimId);
    return this.documents.updateOne(sessionId, held, {
      $set: { [`${a}.lease_until`]: leaseUntil },
    });
  }

  /** Records how a recording too large to send whole is cut, while `claimId` holds the claim. */
  recordPieces(
    sessionId: Types.ObjectId,
    questionId: string,
    claimId: string,
    pieces: AnswerPiece[],
    progress: number,
  ): Promise<boolean> {
    const a = answerPath(questionId);
    return this.documents.updateOne(sessionId, this.held(questionId, claimId), {
      $set: { [`${a}.pieces`]: pieces, [`${a}.progress`]: progress },
      $inc: { rev: 1 },
    });
  }

  /**
   * Stores one transcribed piece and raises the answer's progress (never lowers it: pieces finish
   * in any order), while `claimId` holds the claim. The claim fences this: only its holder changes
   * the pieces, which it read after claiming.
   */
  recordPiece(
    sessionId: Types.ObjectId,
    questionId: string,
    claimId: string,
    index: number,
    piece: AnswerPiece,
    progress: number,
  ): Promise<boolean> {
    const a = answerPath(questionId);
    return this.documents.updateOne(sessionId, this.held(questionId, claimId), {
      $set: { [`${a}.pieces.${index}`]: piece },
      $max: { [`${a}.progress`]: progress },
      $inc: { rev: 1 },
    });
  }

  /**
   * Keeps the provider's result on the answer (still processing, its audio still there), while
   * `claimId` holds the claim. Returns the session after the write, or null when the claim is gone.
   */
  holdResult(sessionId: Types.ObjectId, questionId: string, claimId: string, result: TranscriptFields) {
    const { transcript: text, ...rest } = result;
    return this.documents.findOneAndUpdate(
      sessionId,
      this.held(questionId, claimId),
      { $set: { [`${answerPath(questionId)}.held_result`]: { text, ...rest } } },
      'after',
    );
  }

  /**
   * Stores the transcript and lets go of the audio, with the webhook events this causes in the
   * same write, conditional on the other answers being as the snapshot says (othersAsIn). Null
   * when the claim was no longer held.
   */
  async complete(
    sessionId: Types.ObjectId,
    questionId: string,
    claimId: string,
    result: TranscriptFields,
    now: Date,
    snapshot: SessionRecord | null = null,
    eventsOf: EventsOf = () => ({}),
  ): Promise<SessionRecord | null> {
    const fields: Partial<Answer> = {
      transcription_status: 'completed',
      ...result,
      // the pieces' results are in the transcript now
      pieces: null,
      progress: null,
      held_result: null,
      transcribed_at: now,
      transcription_error: null,
      gridfs_file_id: null,
      next_attempt_at: null,
      updated_at: now,
    };
    let session = snapshot ?? (await this.read(sessionId));
    for (let round = 0; session && round < COMPLETE_ROUNDS; round++) {
      const after = withAnswer(session, questionId, { ...session.answers[questionId], ...fields });
      const assumed = othersAsIn(session, questionId);
      const settled = await this.settle(sessionId, questionId, claimId, fields, { assumed, events: eventsOf(after) });
      if (settled) return settled;
      session = await this.read(sessionId);
      const answer = session?.answers?.[questionId];
      if (answer?.transcription_status !== 'processing' || answer.claim_id !== claimId) return null;
    }
    return null;
  }

  private read(sessionId: Types.ObjectId): Promise<SessionRecord | null> {
    return this.documents.model.findOne({ _id: sessionId }).lean<SessionRecord>().exec();
  }

  /** Back to queued until `retryAt`, keeping the reason for the status view; announced as ANSWER_QUEUED. */
  async retryLater(
    sessionId: Types.ObjectId,
    questionId: string,
    claimId: string,
    reason: string,
    retryAt: Date,
    now: Date,
  ): Promise<SessionRecord | null> {
    const settled = await this.settle(
      sessionId,
      questionId,
      claimId,
      { transcription_status: 'queued', next_attempt_at: retryAt, transcription_error: reason, updated_at: now },
      { dueAt: retryAt },
    );
    const answer = settled?.answers[questionId];
    if (answer?.gridfs_file_id) {
      const event: AnswerQueuedEvent = {
        sessionId,
        questionId,
        fileId: answer.gridfs_file_id,
        queuedAt: answer.queued_at,
        dueAt: retryAt,
        requestId: answer.request_id,
        traceContext: answer.trace_context,
      };
      this.events.emit(ANSWER_QUEUED, event);
    }
    return settled;
  }

  /** Shutting down: back to queued at once, the attempt given back. */
  handBack(sessionId: Types.ObjectId, questionId: string, claimId: string, now: Date): Promise<SessionRecord | null> {
    return this.settle(
      sessionId,
      questionId,
      claimId,
      { transcription_status: 'queued', next_attempt_at: null, updated_at: now },
      { attemptsDelta: -1, dueAt: now },
    );
  }

  /** Failed for good, with the webhook event it causes; the audio stays for a retry until the retention cleanup takes it. */
  fail(
    sessionId: Types.ObjectId,
    questionId: string,
    claimId: string,
    message: string,
    now: Date,
    snapshot: SessionRecord | null = null,
    eventsOf: EventsOf = () => ({}),
  ): Promise<SessionRecord | null> {
    const fields: Partial<Answer> = {
      transcription_status: 'failed',
      transcription_error: message,
      next_attempt_at: null,
      updated_at: now,
    };
    const before = snapshot?.answers?.[questionId];
    const events = before ? eventsOf(withAnswer(snapshot!, questionId, { ...before, ...fields })) : {};
    return this.settle(sessionId, questionId, claimId, fields, { events });
  }

  private held(questionId: string, claimId: string) {
    const a = answerPath(questionId);
    // an erasing session takes no more writes from its jobs: their claims are void
    return {
      status: { $ne: 'erasing' as const },
      [`${a}.transcription_status`]: 'processing',
      [`${a}.claim_id`]: claimId,
    };
  }

  /**
   * Settles a held claim. Only the holder of the claim can do it, so a job whose answer was
   * re-uploaded or withdrawn writes nothing. Returns the session after the change, or null if the
   * claim was no longer held; the work index is then brought up to date (best effort: it only
   * ever errs early, and a scan corrects it).
   */
  private async settle(
    sessionId: Types.ObjectId,
    questionId: string,
    claimId: string,
    fields: Partial<Answer>,
    options: { attemptsDelta?: number; dueAt?: Date; assumed?: Record<string, unknown>; events?: PendingWebhooks } = {},
  ): Promise<SessionRecord | null> {
    const a = answerPath(questionId);
    const events = Object.entries(options.events ?? {});
    const min = {
      ...(options.dueAt ? { work_due_at: options.dueAt } : {}),
      ...(events.length > 0 ? { webhooks_due_at: fields.updated_at } : {}),
    };
    const settled = await this.documents.findOneAndUpdate(
      sessionId,
      { ...options.assumed, ...this.held(questionId, claimId) },
      {
        $set: {
          ...answerFields(questionId, { ...fields, claim_id: null, lease_until: null }),
          ...Object.fromEntries(events.map(([id, event]) => [`pending_webhooks.${id}`, event])),
          updated_at: fields.updated_at,
        },
        $inc: { rev: 1, ...(options.attemptsDelta ? { [`${a}.attempts`]: options.attemptsDelta } : {}) },
        ...(Object.keys(min).length > 0 ? { $min: min } : {}),
      },
      'after',
    );
    if (settled) await this.workIndex.refresh(settled).catch(() => undefined);
    return settled;
  }
}
