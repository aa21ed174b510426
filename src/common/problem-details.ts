import { STATUS_CODES } from 'node:http';
import type { ProblemView } from './dto/problem.dto.js';

/** RFC 9457's media type: every error response carries it. */
export const PROBLEM_JSON = 'application/problem+json';

/** "No semantics beyond the HTTP status": the title is then the status's own phrase. */
export const GENERIC_PROBLEM = 'about:blank';

/**
 * Problem types with members of their own, as URI references relative to the API's address (a
 * client resolves them against the URL it called). Described in the OpenAPI document.
 */
export const PROBLEM_TYPES = {
  transcriptionFailed: '/problems/transcription-failed',
} as const;

/**
 * An RFC 9457 problem: `type`, `title`, `status` and `detail` (the sentence to show), plus the
 * earlier `statusCode`, `error` and `message` with the same values, plus any extension members.
 */
export function problemDetails(status: number, detail: string, extensions: Record<string, unknown> = {}) {
  const phrase = STATUS_CODES[status] ?? 'Error';
  const { type = GENERIC_PROBLEM, title = phrase, ...members } = extensions;
  return {
    type: String(type),
    title: String(title),
    status,
    detail,
    statusCode: status,
    error: phrase,
    message: detail,
    ...members,
  } satisfies ProblemView;
}
