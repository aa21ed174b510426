import { truncateUtf8 } from '../common/utf8.js';
import type { TranscriptFields } from '../interview-record/answer.schema.js';

/** What one answer's text may take in its session document (TRANSCRIPT_MAX_BYTES, SESSION_TRANSCRIPTS_MAX_BYTES). */
export interface TranscriptBounds {
  answerMaxBytes: number;
  sessionMaxBytes: number;
}

/** What a stored segment costs besides its text: the BSON of { start, end, text } and its array key. */
export const SEGMENT_OVERHEAD_BYTES = 64;

/** What a stored pause { start, end } costs, with its array key. */
export const PAUSE_OVERHEAD_BYTES = 40;

/**
 * Bytes an answer's transcript may take, and its segments and its measured pauses as many again each: the session's budget
 * shared evenly by its questions, at most the per-answer bound. Fixed by the question count, so two
 * answers completing at once can never together exceed the session's budget.
 */
export function answerBudgetBytes(bounds: TranscriptBounds, questionCount: number): number {
  return Math.min(bounds.answerMaxBytes, Math.floor(bounds.sessionMaxBytes / Math.max(1, questionCount)));
}

/**
 * The provider's result within `budgetBytes`: the transcript cut at a character boundary and the
 * segments kept from the start while they fit, each cut flagged on the answer (transcript_truncated,
 * segments_truncated) so that nobody mistakes a cut text for the candidate's whole answer.
 */
export function boundTranscript(fields: TranscriptFields, budgetBytes: number): TranscriptFields {
  const bounded: TranscriptFields = { ...fields };
  if (Buffer.byteLength(fields.transcript) > budgetBytes) {
    bounded.transcript = truncateUtf8(fields.transcript, budgetBytes);
    bounded.transcript_truncated = true;
  }
  if (fields.segments) {
    let used = 0;
    let kept = 0;
    for (const segment of fields.segments) {
      used += Buffer.byteLength(segment.text) + SEGMENT_OVERHEAD_BYTES;
      if (used > budgetBytes) break;
      kept++;
    }
    if (kept < fields.segments.length) {
      bounded.segments = fields.segments.slice(0, kept);
      bounded.segments_truncated = true;
    }
  }
  if (fields.speech) {
    const fit = Math.floor(budgetBytes / PAUSE_OVERHEAD_BYTES);
    if (fields.speech.pauses.length > fit) {
      bounded.speech = { ...fields.speech, pauses: fields.speech.pauses.slice(0, fit) };
      bounded.pauses_truncated = true;
    }
  }
  return bounded;
}
