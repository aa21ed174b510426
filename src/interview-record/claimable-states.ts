import type { Answer } from './answer.schema.js';

// ---- when an answer needs a worker ----

type Condition = string | null | { $lte: Date } | { $lt: Date };

/**
 * The states a worker may claim an answer from, at `now`: queued and not waiting for a retry, or
 * processing with a lapsed lease. The claim's filter (answer-plans.ts) states them; isClaimable
 * reads them back.
 */
export const claimableStates = (now: Date): Partial<Record<keyof Answer, Condition>>[] => [
  { transcription_status: 'queued', next_attempt_at: null },
  { transcription_status: 'queued', next_attempt_at: { $lte: now } },
  { transcription_status: 'processing', lease_until: { $lt: now } },
];

/** Whether `value` meets `condition` as the database would judge it (null also matches a missing field). */
function meets(value: unknown, condition: Condition): boolean {
  if (condition === null) return value === null || value === undefined;
  if (typeof condition === 'string') return value === condition;
  if (!(value instanceof Date)) return false;
  return '$lte' in condition ? value <= condition.$lte : value < condition.$lt;
}

/** True when the claim would take this answer now: it has audio and is in a claimable state. */
export function isClaimable(answer: Answer, now: Date): boolean {
  if (!answer.gridfs_file_id) return false;
  return claimableStates(now).some((state) =>
    Object.entries(state).every(([field, condition]) => meets(answer[field as keyof Answer], condition)),
  );
}
