import type { AnswerPlan } from './answer-plans.js';
import type { Answer } from './answer.schema.js';
import type { SessionRecord } from './session.schema.js';

/** When an answer next needs a worker, or null when it needs none. */
export function answerDueAt(answer: Answer): Date | null {
  switch (answer.transcription_status) {
    case 'queued':
      return answer.next_attempt_at ?? answer.queued_at;
    case 'processing':
      return answer.lease_until;
    default:
      return null;
  }
}

export function earliestDueAt(answers: Record<string, Answer>): Date | null {
  let earliest: Date | null = null;
  for (const answer of Object.values(answers)) {
    const due = answerDueAt(answer);
    if (due && (!earliest || due < earliest)) earliest = due;
  }
  return earliest;
}

/**
 * Sets work_due_at to exactly when this session next needs a worker, unless the session changed
 * since it was read (then whoever changed it kept work_due_at early enough).
 */
export function refreshWorkDue(session: Pick<SessionRecord, 'rev' | 'answers'>): AnswerPlan {
  const due = earliestDueAt(session.answers ?? {});
  return {
    filter: { rev: session.rev },
    update: due ? { $set: { work_due_at: due } } : { $unset: { work_due_at: '' } },
  };
}
