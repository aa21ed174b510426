import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { backoffMs } from '../../common/backoff.js';

export type FailureKind = 'transient' | 'permanent';

/**
 * A transcription attempt that did not produce text. `message` is the sentence users and webhook
 * receivers see (stored on the answer): it says what happened and what to do, never the provider's
 * or a library's own text, which may carry account details, host names or a masked key. `detail`
 * is that text, for the server's log only.
 */
export class TranscriptionFailure extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
    readonly retryAfterMs?: number,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'TranscriptionFailure';
  }

  /** For log lines: the sentence and, after it, the underlying detail. */
  get logText(): string {
    return this.detail ? `${this.message} [${this.detail}]` : this.message;
  }

  /** The same failure with its sentence prefixed (a piece's name, say), detail and kind kept. */
  within(prefix: string, kind: FailureKind = this.kind): TranscriptionFailure {
    return new TranscriptionFailure(`${prefix}${this.message}`, kind, this.retryAfterMs, this.detail);
  }
}

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
}

/** Longest Retry-After we wait for before treating the provider's request as unreasonable. */
const MAX_RETRY_AFTER_MS = 15 * 60 * 1000;

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** Reads Retry-After (seconds or HTTP date) and retry-after-ms; undefined when absent or unusable. */
export function parseRetryAfter(headers: unknown, now = Date.now()): number | undefined {
  const ms = headerValue(headers, 'retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.min(Number(ms), MAX_RETRY_AFTER_MS);
  const value = headerValue(headers, 'retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.min(Number(value) * 1000, MAX_RETRY_AFTER_MS);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
}

/** The provider's own text and code, for the log: a 401's message quotes the (masked) key. */
function providerDetail(error: APIError): string {
  return `${error.status} ${providerMessage(error).replace(/\s+/g, ' ').slice(0, 300)}`;
}

/** The message of the provider's error body, else the SDK's. */
function providerMessage(error: APIError): string {
  const body: unknown = error.error;
  const message = typeof body === 'object' && body !== null && 'message' in body ? body.message : undefined;
  return typeof message === 'string' ? message : error.message;
}

/** The parameters a transcription request carries besides the audio, by the names providers give them. */
const REQUEST_PARAMETERS =
  /^(keywords|prompt|languages?|model|response_format|temperature|timestamp_granularities|include|chunking_strategy)\b/;
/** The ones the interview supplies (the question's terms, the session's language): dropped on a refusal. */
const HINT_PARAMETERS = /^(keywords|prompt|languages?)\b/;

/**
 * Which parameter of the request (not the audio) a 400 refused: the error's `param`, or, from a
 * server that names none, a hint parameter its message names. Undefined for anything else.
 */
function refusedParameter(error: APIError): string | undefined {
  const param = typeof error.param === 'string' ? error.param : '';
  if (param) return REQUEST_PARAMETERS.test(param) ? param.match(REQUEST_PARAMETERS)![1] : undefined;
  const text = providerMessage(error);
  return /\b(keywords?|prompt|languages?)\b/i.exec(text)?.[1].toLowerCase();
}

/**
 * Whether the provider refused the interview's hints (keywords, prompt, language): a 400 naming one
 * of them. The answer is then sent again once without them; the recording itself was never judged.
 */
export function refusedHints(error: unknown): boolean {
  if (!(error instanceof APIError) || error.status !== 400) return false;
  const parameter = refusedParameter(error);
  return parameter !== undefined && HINT_PARAMETERS.test(parameter);
}

/** Sorts a provider or storage error into "try again later" and "this will never work". */
export function classifyError(error: unknown): TranscriptionFailure {
  if (error instanceof TranscriptionFailure) return error;
  if (error instanceof APIConnectionTimeoutError) {
    return new TranscriptionFailure('The transcription provider did not answer in time.', 'transient');
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    const status = error.status;
    const detail = providerDetail(error);
    const failure = (message: string, kind: FailureKind, retryAfterMs?: number) =>
      new TranscriptionFailure(message, kind, retryAfterMs, detail);
    if (status === 429) {
      return failure(
        'The transcription provider is rate limiting requests (429).',
        'transient',
        parseRetryAfter(error.headers),
      );
    }
    if (status === 408 || status === 409 || status === 425 || status >= 500) {
      return failure(`The transcription provider failed (${status}).`, 'transient', parseRetryAfter(error.headers));
    }
    if (status === 401 || status === 403) {
      return failure(
        `The transcription provider refused this server's credentials (${status}); the operator must check OPENAI_API_KEY, then retry the answer.`,
        'permanent',
      );
    }
    if (status === 404) {
      return failure(
        'The transcription provider has no such model or endpoint (404); the operator must check TRANSCRIPTION_MODEL and OPENAI_BASE_URL, then retry the answer.',
        'permanent',
      );
    }
    if (status === 413) {
      return failure('The recording is too large for the transcription provider (413).', 'permanent');
    }
    const parameter = refusedParameter(error);
    if (parameter) {
      // a setting or a hint, not the recording: uploading it again cannot help
      return failure(
        `The transcription provider refused the request's ${parameter} (${status}), not the recording; the operator must check the transcription settings (TRANSCRIPTION_MODEL, TRANSCRIPTION_LANGUAGE), then retry the answer.`,
        'permanent',
      );
    }
    return failure(
      `The transcription provider rejected the audio (${status}); check that the recording plays, then upload it again.`,
      'permanent',
    );
  }
  if (error instanceof APIConnectionError) {
    const cause = (error as { cause?: unknown }).cause;
    const reason = cause instanceof Error ? cause.message : error.message;
    return new TranscriptionFailure('Could not reach the transcription provider.', 'transient', undefined, reason);
  }
  if (error instanceof SyntaxError) {
    return new TranscriptionFailure('The transcription provider returned a malformed response.', 'transient');
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/FileNotFound|ChunkIsMissing|file .* not found/i.test(message)) {
    return new TranscriptionFailure(
      'The audio for this answer is missing from storage; upload it again.',
      'permanent',
      undefined,
      message,
    );
  }
  return new TranscriptionFailure(
    'Transcription failed unexpectedly.',
    'transient',
    undefined,
    (error instanceof Error ? `${error.name}: ${message}` : message).slice(0, 500),
  );
}

/**
 * Exponential backoff with "equal jitter": half the exponential delay is fixed, half random, so
 * retries spread out but never come back almost at once. A provider's Retry-After is a floor.
 */
export function retryDelayMs(
  failure: TranscriptionFailure,
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  return backoffMs(attempt, { ...policy, jitter: [0.5, 1] }, failure.retryAfterMs ?? 0, random);
}
