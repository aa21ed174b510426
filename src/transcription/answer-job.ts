import type { DueAnswer } from '../interview-record/answer-events.js';
import type { SchedulableJob } from './job-scheduler.js';

/** One answer's transcription, as the scheduler sees it. */
export type AnswerJob = DueAnswer & SchedulableJob;

/** The job for a due answer: one per uploaded file, started in upload order, grouped by session (its writes' lock). */
export function answerJob(due: DueAnswer): AnswerJob {
  const session = String(due.sessionId);
  return { ...due, key: `${session}/${due.questionId}/${String(due.fileId)}`, order: due.queuedAt, group: session };
}
