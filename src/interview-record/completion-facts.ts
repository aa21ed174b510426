import { answerOf, answerPath } from './answer-paths.js';
import type { Answer } from './answer.schema.js';
import type { PendingWebhooks } from './pending-webhooks.js';
import type { SessionRecord } from './session.schema.js';

/** The webhook events a settling write carries, given the session as it will be after the write. */
export type EventsOf = (after: SessionRecord) => PendingWebhooks;

/** How many times a completion is tried again when the other answers changed under it. */
export const COMPLETE_ROUNDS = 5;

/** The session as a write that gives `answer` to `questionId` will leave it (to build its events from). */
export function withAnswer(session: SessionRecord, questionId: string, answer: Answer): SessionRecord {
  return { ...session, answers: { ...session.answers, [questionId]: answer } };
}

/**
 * The filter under which completing `questionId` has the effect `session` predicts: either every
 * other answer is completed too (the completion finishes the session's transcriptions, and its
 * write carries that event) or one is not. Two answers completing at once can then not both
 * decide "not the last one" and lose the event: the second write's assumption fails and is
 * decided again on a fresh read.
 */
export function othersAsIn(session: SessionRecord, questionId: string): Record<string, unknown> {
  const others = session.questions.map((q) => q.question_id).filter((q) => q !== questionId);
  if (others.length === 0) return {};
  const status = (q: string) => `${answerPath(q)}.transcription_status`;
  const allDone = others.every((q) => answerOf(session.answers, q)?.transcription_status === 'completed');
  return allDone
    ? Object.fromEntries(others.map((q) => [status(q), 'completed']))
    : { $or: others.map((q) => ({ [status(q)]: { $ne: 'completed' } })) };
}
