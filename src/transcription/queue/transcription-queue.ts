import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Types } from 'mongoose';
import { ANSWER_QUEUED, dueAnswer } from '../../interview-record/answer-events.js';
import { answerOf } from '../../interview-record/answer-paths.js';
import * as plans from '../../interview-record/answer-plans.js';
import { COMPLETE_ROUNDS, type EventsOf } from '../../interview-record/completion-facts.js';
import type { Answer, TranscriptFields } from '../../interview-record/answer.schema.js';
import { SessionDocuments } from '../../interview-record/session-documents.js';
import type { Question, SessionRecord } from '../../interview-record/session.schema.js';
import { WorkIndex } from './work-index.js';

export type { TranscriptFields } from '../../interview-record/answer.schema.js';

export interface Claimed {
  answer: Answer;
  sessionLanguage: string | null;
  /** The session as the claim left it. */
  session: SessionRecord;
  sessionLanguages: string[];
  /** The question answered, for the provider's hints. */
  question: Question | null;
}

function claimedView(session: SessionRecord, questionId: string): Claimed | null {
  const answer = answerOf(session.answers, questionId);
  if (!answer) return null;
  return {
    answer,
    session,
    sessionLanguage: session.language ?? null,
    sessionLanguages: session.languages ?? [],
    question: session.questions.find((q) => q.question_id === questionId) ?? null,
  };
}

/** Whether the answer to `questionId` is completed by the completion stamped `at`. */
function completedAt(session: SessionRecord | null, questionId: string, at: Date): boolean {
  const answer = answerOf(session?.answers, questionId);
  return answer?.transcription_status === 'completed' && answer.transcribed_at?.getTime() === at.getTime();
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
   * only while it still points at `fileId`, with a lease of `leaseMs` from when the claim is written.
   * Returns null if another worker, a re-upload or a withdrawal got there first.
   */
  async claim(
    sessionId: Types.ObjectId,
    questionId: string,
    fileId: Types.ObjectId,
    claimId: string,
    leaseMs: number,
  ): Promise<Claimed | null> {
    const claimed = await this.documents.findOneAndUpdateAt(
      sessionId,
      (now) => plans.claim(questionId, fileId, claimId, new Date(now.getTime() + leaseMs), now),
      'after',
    );
    return claimed ? claimedView(claimed, questionId) : null;
  }

  /**
   * The claim `claimId` as the session holds it now, or null: read back after a claim write that
   * failed without saying whether it was applied (a time limit, a broken connection), so that a
   * claim the database took is worked now rather than left to lapse and be claimed again.
   */
  async heldClaim(sessionId: Types.ObjectId, questionId: string, claimId: string): Promise<Claimed | null> {
    const session = await this.read(sessionId);
    const answer = answerOf(session?.answers, questionId);
    if (!session || answer?.transcription_status !== 'processing' || answer.claim_id !== claimId) return null;
    return claimedView(session, questionId);
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
    return this.runOne(sessionId, plans.noteWaiting(questionId, fileId, reason, now));
  }

  /** Extends a held claim to `leaseMs` from when the renewal is written. False means the claim is gone and the job must stop without writing. */
  renewLease(sessionId: Types.ObjectId, questionId: string, claimId: string, leaseMs: number): Promise<boolean> {
    return this.documents.updateOneAt(sessionId, (now) =>
      plans.renewLease({ questionId, claimId }, new Date(now.getTime() + leaseMs)),
    );
  }

  /**
   * Stores the transcript and lets go of the audio, with the webhook events this causes in the
   * same write, conditional on the other answers being as the snapshot says (othersAsIn); read
   * again and decided anew when they changed. The session after it; also when an earlier try of
   * this completion (the same `now`) was applied and its reply lost. Null when the claim was no
   * longer held.
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
    let session = snapshot ?? (await this.read(sessionId));
    for (let round = 0; session && round < COMPLETE_ROUNDS; round++) {
      const settled = await this.settle(
        sessionId,
        plans.complete(session, { questionId, claimId }, result, now, eventsOf),
      );
      if (settled) return settled;
      session = await this.read(sessionId);
      // an earlier try of this very completion was applied, its reply lost
      if (completedAt(session, questionId, now)) return this.applied(session!);
      const answer = answerOf(session?.answers, questionId);
      if (answer?.transcription_status !== 'processing' || answer.claim_id !== claimId) return null;
    }
    return null;
  }

  /**
   * The session, when it holds the completion stamped `at` (its transcribed_at) of the answer to
   * `questionId`: read back after a completion write that failed without saying whether it was
   * applied, so that an applied one is announced and relayed as its own reply would have been.
   * Null when it does not.
   */
  async appliedCompletion(sessionId: Types.ObjectId, questionId: string, at: Date): Promise<SessionRecord | null> {
    const session = await this.read(sessionId);
    return completedAt(session, questionId, at) ? this.applied(session!) : null;
  }

  private async applied(session: SessionRecord): Promise<SessionRecord> {
    this.documents.announceApplied(session);
    await this.workIndex.refresh(session).catch(() => undefined);
    return session;
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
    const settled = await this.settle(sessionId, plans.retryLater({ questionId, claimId }, reason, retryAt, now));
    const answer = answerOf(settled?.answers, questionId);
    if (answer?.gridfs_file_id) this.events.emit(ANSWER_QUEUED, dueAnswer(sessionId, questionId, answer));
    return settled;
  }

  /** Shutting down: back to queued at once, the attempt given back. */
  handBack(sessionId: Types.ObjectId, questionId: string, claimId: string, now: Date): Promise<SessionRecord | null> {
    return this.settle(sessionId, plans.handBack({ questionId, claimId }, now));
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
    return this.settle(sessionId, plans.fail({ questionId, claimId }, message, now, snapshot, eventsOf));
  }

  /**
   * Runs a settling plan. Only the holder of the claim can settle, so a job whose answer was
   * re-uploaded or withdrawn writes nothing. Returns the session after the change, or null if the
   * claim was no longer held; the work index is then brought up to date (best effort: it only
   * ever errs early, and a scan corrects it).
   */
  private async settle(sessionId: Types.ObjectId, plan: plans.AnswerPlan): Promise<SessionRecord | null> {
    const settled = await this.run(sessionId, plan, 'after');
    if (settled) await this.workIndex.refresh(settled).catch(() => undefined);
    return settled;
  }

  private run(sessionId: Types.ObjectId, { filter, update }: plans.AnswerPlan, returnDocument: 'before' | 'after') {
    return this.documents.findOneAndUpdate(sessionId, filter, update, returnDocument);
  }

  private runOne(sessionId: Types.ObjectId, { filter, update }: plans.AnswerPlan): Promise<boolean> {
    return this.documents.updateOne(sessionId, filter, update);
  }
}
