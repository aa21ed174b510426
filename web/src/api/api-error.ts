/** An API failure as a sentence the candidate can read; never the raw response body. */
export class ApiError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when the server could not be reached at all. */
    readonly status: number,
    /** Seconds the server asked us to wait (Retry-After), when it said. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Worth trying again by itself: the network, a busy or restarting server, a rate limit. */
  get isTransient(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

const UNREACHABLE = 'The server could not be reached; check your connection and try again.';

export function networkError(): ApiError {
  return new ApiError(UNREACHABLE, 0);
}

/** Turns an error response into an ApiError carrying the server's own sentence when it sent one. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  const retryAfter = Number(res.headers.get('Retry-After'));
  const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
  let message: string | undefined;
  try {
    const body: unknown = await res.json();
    const candidate = (body as { message?: unknown })?.message;
    if (typeof candidate === 'string' && candidate.trim()) message = candidate.trim();
  } catch {
    // not JSON (a proxy's HTML error page, say): fall through to a generic sentence
  }
  return new ApiError(message ?? fallbackSentence(res.status), res.status, retryAfterSeconds);
}

function fallbackSentence(status: number): string {
  if (status === 401) return 'You are not signed in, or your sign-in has expired; sign in again.';
  if (status === 404) return 'The server does not know this interview any more.';
  if (status === 413) return 'The recording is too large to upload.';
  if (status === 429) return 'Too many requests at once; wait a moment and try again.';
  if (status >= 500) return `The server had a problem (HTTP ${status}); try again in a moment.`;
  return `The request was refused (HTTP ${status}).`;
}
