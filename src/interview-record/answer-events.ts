import type { Types } from 'mongoose';
import { answerDueAt } from './due-work.js';
import type { Answer } from './answer.schema.js';

/** Emitted when an answer becomes queued; only a nudge to look now, the document holds the state. */
export const ANSWER_QUEUED = 'answer.queued';

/** An answer that needs a worker, now or at `dueAt`: what ANSWER_QUEUED says, and what a scan for due work finds. */
export interface DueAnswer {
  sessionId: Types.ObjectId;
  questionId: string;
  fileId: Types.ObjectId;
  queuedAt: Date;
  /** Not before then: a retry's backoff, a lease running out, or (queued at once) its queue time. */
  dueAt: Date;
  requestId?: string | null;
  /** The upload's trace, which the transcription joins. */
  traceContext?: string | null;
}

export type AnswerQueuedEvent = DueAnswer;

/**
 * The work an answer (as a write left it, or as a scan read it) stands for. Only for an answer
 * that has its audio and needs a worker: queued, or processing.
 */
export function dueAnswer(sessionId: Types.ObjectId, questionId: string, answer: Answer): DueAnswer {
  return {
    sessionId,
    questionId,
    fileId: answer.gridfs_file_id!,
    queuedAt: answer.queued_at,
    dueAt: answerDueAt(answer) ?? answer.queued_at,
    requestId: answer.request_id,
    traceContext: answer.trace_context,
  };
}
