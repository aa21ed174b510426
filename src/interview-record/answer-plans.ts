import type { QueryFilter, Types, UpdateQuery } from 'mongoose';
import { answerFields, answerOf, answerPath } from './answer-paths.js';
import type { AnswerPiece } from './answer-queue-state.schema.js';
import type { Answer, TranscriptFields } from './answer.schema.js';
import { claimableStates } from './claimable-states.js';
import { othersAsIn, withAnswer, type EventsOf } from './completion-facts.js';
import { carryingEvents, type PendingWebhooks } from './pending-webhooks.js';
import type { InterviewSession, SessionRecord } from './session.schema.js';

/**
 * Every change of an answer's state, as a pure plan: the filter that names the state the change
 * may start from, and the update that makes it. A caller runs a plan as one conditional update
 * through SessionDocuments; nothing here reads, writes or keeps time. A plan that changes what
 * clients see bumps `rev`; one that makes work due lowers work_due_at with $min, never raises it.
 * No filter reaches into an array (FerretDB on PostgreSQL then matches nothing): answers is a map.
 */
export interface AnswerPlan {
  filter: QueryFilter<InterviewSession>;
  update: UpdateQuery<InterviewSession>;
}

type FileId = Types.ObjectId; // of the answer's audio in GridFS
type Settled = 'completed' | 'failed';

// ---- what the candidate (and the cleanup) do to an answer ----

/**
 * Makes `answer` the current answer to its question, while the session is open and the question
 * does not hold this very answer already (a completion tried again must not queue it twice). With
 * `replacing` (an answer id, or null for none), only while the question still holds that one.
 */
export function replace(userId: string, answer: Answer, replacing?: string | null): AnswerPlan {
  const a = answerPath(answer.question_id);
  const holding =
    replacing === undefined
      ? { [`${a}.id`]: { $ne: answer.id } }
      : replacing === null
        ? { [a]: { $exists: false } }
        : { [`${a}.id`]: replacing };
  return {
    filter: { user_id: userId, status: 'in_progress', ...holding },
    update: {
      $set: { [a]: answer, updated_at: answer.updated_at },
      $inc: { rev: 1 },
      $min: { work_due_at: answer.queued_at },
    },
  };
}

/** Removes the answer to `questionId`, while the session is open. */
export function withdraw(userId: string, questionId: string, now: Date): AnswerPlan {
  const a = answerPath(questionId);
  return {
    filter: { user_id: userId, status: 'in_progress', [a]: { $exists: true } },
    update: { $unset: { [a]: '' }, $set: { updated_at: now }, $inc: { rev: 1 } },
  };
}

/** What a failed answer becomes when it is queued again: a fresh start, its attempts back to none. */
export const requeuedFields = (now: Date): Partial<Answer> => ({
  transcription_status: 'queued',
  transcription_error: null,
  attempts: 0,
  next_attempt_at: null,
  queued_at: now,
  updated_at: now,
});

/** Queues a failed answer again, only while its audio is still kept. */
export function requeueFailed(userId: string, questionId: string, now: Date): AnswerPlan {
  const a = answerPath(questionId);
  return {
    filter: {
      user_id: userId,
      status: 'in_progress',
      [`${a}.transcription_status`]: 'failed',
      [`${a}.gridfs_file_id`]: { $ne: null },
    },
    update: {
      $set: { ...answerFields(questionId, requeuedFields(now)), updated_at: now },
      $inc: { rev: 1 },
      $min: { work_due_at: now },
    },
  };
}

/**
 * A settled answer lets go of its audio (the cleanup then deletes the file), only while it still
 * points at `fileId` with `status`. A failed answer records when its audio expired.
 */
export function releaseAudio(questionId: string, fileId: FileId, status: Settled, now: Date): AnswerPlan {
  const a = answerPath(questionId);
  return {
    filter: { [`${a}.transcription_status`]: status, [`${a}.gridfs_file_id`]: fileId },
    update: {
      $set: answerFields(questionId, {
        gridfs_file_id: null,
        updated_at: now,
        ...(status === 'failed' ? { audio_expired_at: now } : {}),
      }),
      $inc: { rev: 1 },
    },
  };
}

// ---- what the transcription queue does to an answer ----

/**
 * Takes the processing claim on a claimable answer that still points at `fileId`; an erasing
 * session gives no more claims.
 */
export function claim(questionId: string, fileId: FileId, claimId: string, leaseUntil: Date, now: Date): AnswerPlan {
  const a = answerPath(questionId);
  return {
    filter: {
      status: { $ne: 'erasing' },
      [`${a}.gridfs_file_id`]: fileId,
      $or: claimableStates(now).map((state) =>
        Object.fromEntries(Object.entries(state).map(([field, condition]) => [`${a}.${field}`, condition])),
      ),
    },
    update: {
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
  };
}

/** A queued answer says why it waits (no provider configured); only the first call changes anything. */
export function noteWaiting(questionId: string, fileId: FileId, reason: string, now: Date): AnswerPlan {
  const a = answerPath(questionId);
  return {
    filter: {
      [`${a}.gridfs_file_id`]: fileId,
      [`${a}.transcription_status`]: 'queued',
      [`${a}.transcription_error`]: { $ne: reason },
    },
    update: { $set: answerFields(questionId, { transcription_error: reason, updated_at: now }), $inc: { rev: 1 } },
  };
}

/** An answer as one job's claim holds it: every write of that job is fenced by the claim. */
export interface HeldClaim {
  questionId: string;
  claimId: string;
}

/** The state only the claim's holder may write from; an erasing session takes no more writes from its jobs. */
function held({ questionId, claimId }: HeldClaim) {
  const a = answerPath(questionId);
  return {
    status: { $ne: 'erasing' as const },
    [`${a}.transcription_status`]: 'processing',
    [`${a}.claim_id`]: claimId,
  };
}

/** Extends a held claim; an erasing session's job may finish its call (it then writes nothing), so only writes are fenced. */
export function renewLease(claim: HeldClaim, leaseUntil: Date): AnswerPlan {
  const { status: _erasing, ...heldEvenWhileErasing } = held(claim);
  return {
    filter: heldEvenWhileErasing,
    update: { $set: { [`${answerPath(claim.questionId)}.lease_until`]: leaseUntil } },
  };
}

/** How a recording too large to send whole is cut, recorded by the claim's holder. */
export function recordPieces(claim: HeldClaim, pieces: AnswerPiece[], progress: number): AnswerPlan {
  const a = answerPath(claim.questionId);
  return {
    filter: held(claim),
    update: { $set: { [`${a}.pieces`]: pieces, [`${a}.progress`]: progress }, $inc: { rev: 1 } },
  };
}

/** One transcribed piece; progress only rises (pieces finish in any order). */
export function recordPiece(claim: HeldClaim, index: number, piece: AnswerPiece, progress: number): AnswerPlan {
  const a = answerPath(claim.questionId);
  return {
    filter: held(claim),
    update: { $set: { [`${a}.pieces.${index}`]: piece }, $max: { [`${a}.progress`]: progress }, $inc: { rev: 1 } },
  };
}

/** Keeps the provider's result on the answer (still processing, its audio still there). */
export function holdResult(claim: HeldClaim, result: TranscriptFields): AnswerPlan {
  const { transcript: text, ...rest } = result;
  return {
    filter: held(claim),
    update: { $set: { [`${answerPath(claim.questionId)}.held_result`]: { text, ...rest } } },
  };
}

/** Settles a held claim: the answer takes `fields` and lets go of the claim, with the webhook events this causes. */
function settle(
  claim: HeldClaim,
  fields: Partial<Answer>,
  options: {
    attemptsDelta?: number;
    dueAt?: Date;
    /** The filter pins every other answer as settled: no work is left in the session after this write. */
    noWorkLeft?: boolean;
    assumed?: Record<string, unknown>;
    events?: PendingWebhooks;
  } = {},
): AnswerPlan {
  const a = answerPath(claim.questionId);
  const carried = carryingEvents(options.events ?? {}, fields.updated_at!);
  const min = { ...(options.dueAt ? { work_due_at: options.dueAt } : {}), ...carried.$min };
  return {
    filter: { ...options.assumed, ...held(claim) },
    update: {
      $set: {
        ...answerFields(claim.questionId, { ...fields, claim_id: null, lease_until: null }),
        ...carried.$set,
        updated_at: fields.updated_at,
      },
      $inc: { rev: 1, ...(options.attemptsDelta ? { [`${a}.attempts`]: options.attemptsDelta } : {}) },
      ...(Object.keys(min).length > 0 ? { $min: min } : {}),
      ...(options.noWorkLeft ? { $unset: { work_due_at: '' } } : {}),
    },
  };
}

/** Stores the transcript, lets go of the audio, with the events `session` (read before) says this causes, if still true. */
export function complete(
  session: SessionRecord,
  claim: HeldClaim,
  result: TranscriptFields,
  now: Date,
  eventsOf: EventsOf,
): AnswerPlan {
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
  const { questionId } = claim;
  const after = withAnswer(session, questionId, { ...answerOf(session.answers, questionId)!, ...fields });
  // when the filter holds every other answer completed, this write leaves no work: work_due_at goes with it
  const noWorkLeft = session.questions.every(
    (q) =>
      q.question_id === questionId || answerOf(session.answers, q.question_id)?.transcription_status === 'completed',
  );
  return settle(claim, fields, { assumed: othersAsIn(session, questionId), events: eventsOf(after), noWorkLeft });
}

/** Back to queued until `retryAt`, keeping the reason for the status view. */
export function retryLater(claim: HeldClaim, reason: string, retryAt: Date, now: Date): AnswerPlan {
  const fields = { next_attempt_at: retryAt, transcription_error: reason, updated_at: now };
  return settle(claim, { transcription_status: 'queued', ...fields }, { dueAt: retryAt });
}

/** Shutting down: back to queued at once, the attempt given back. */
export function handBack(claim: HeldClaim, now: Date): AnswerPlan {
  const fields = { transcription_status: 'queued' as const, next_attempt_at: null, updated_at: now };
  return settle(claim, fields, { attemptsDelta: -1, dueAt: now });
}

/** Failed for good, with the events `snapshot` (the session as claimed) says this causes; the audio stays for a retry. */
export function fail(
  claim: HeldClaim,
  message: string,
  now: Date,
  snapshot: SessionRecord | null,
  eventsOf: EventsOf,
): AnswerPlan {
  const fields: Partial<Answer> = {
    transcription_status: 'failed',
    transcription_error: message,
    next_attempt_at: null,
    updated_at: now,
  };
  const before = answerOf(snapshot?.answers, claim.questionId);
  const events = before ? eventsOf(withAnswer(snapshot!, claim.questionId, { ...before, ...fields })) : {};
  return settle(claim, fields, { events });
}
