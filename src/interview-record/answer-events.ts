import type { Types } from 'mongoose';

/** Emitted when an answer becomes queued; only a nudge to look now, the document holds the state. */
export const ANSWER_QUEUED = 'answer.queued';

export interface AnswerQueuedEvent {
  sessionId: Types.ObjectId;
  questionId: string;
  fileId: Types.ObjectId;
  queuedAt: Date;
  /** Not before then (a retry's backoff); unset: at once. */
  dueAt?: Date;
  requestId?: string | null;
  traceContext?: string | null;
}
