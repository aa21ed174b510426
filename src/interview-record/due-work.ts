import type { Answer } from './answer.schema.js';

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

/** True when a worker may claim this answer now: due and queued, or processing with a lapsed lease. */
export function isClaimable(answer: Answer, now: Date): boolean {
  const due = answerDueAt(answer);
  if (!due || !answer.gridfs_file_id) return false;
  return answer.transcription_status === 'queued' ? due <= now : due < now;
}

export function earliestDueAt(answers: Record<string, Answer>): Date | null {
  let earliest: Date | null = null;
  for (const answer of Object.values(answers)) {
    const due = answerDueAt(answer);
    if (due && (!earliest || due < earliest)) earliest = due;
  }
  return earliest;
}
