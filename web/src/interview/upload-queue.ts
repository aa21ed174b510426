import { ApiError } from '../api/api-error';

export type UploadState =
  | { phase: 'uploading'; attempt: number }
  | { phase: 'waiting'; attempt: number; retryInMs: number }
  | { phase: 'uploaded' }
  | { phase: 'failed'; message: string };

export interface UploadPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_UPLOAD_POLICY: UploadPolicy = { maxAttempts: 6, baseDelayMs: 1_000, maxDelayMs: 30_000 };

/** Exponential backoff, honouring a server's Retry-After as a floor. */
export function retryDelayMs(attempt: number, policy: UploadPolicy, retryAfterSeconds?: number): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.max(exponential, (retryAfterSeconds ?? 0) * 1000);
}

/**
 * Uploads recordings in the background, one request per answer at a time; a newer recording for the
 * same question replaces one still waiting. Network failures, busy servers and rate limits are
 * retried with backoff; a refusal (4xx) is reported at once, as the server's sentence.
 */
export class UploadQueue {
  private readonly latest = new Map<string, number>();
  private readonly gaveUp = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private generation = 0;

  constructor(
    private readonly api: { uploadAnswer(sessionId: string, questionId: string, recording: Blob): Promise<unknown> },
    private readonly sessionId: string,
    private readonly onState: (questionId: string, state: UploadState) => void,
    private readonly policy: UploadPolicy = DEFAULT_UPLOAD_POLICY,
    private readonly sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    private readonly onGaveUp?: (questionId: string) => void,
  ) {}

  /** Starts uploading and returns at once; the state callback tells how it goes. */
  enqueue(questionId: string, recording: Blob): void {
    const ticket = ++this.generation;
    this.latest.set(questionId, ticket);
    this.gaveUp.delete(questionId);
    const run = this.run(questionId, recording, ticket).finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  /** Questions whose latest recording could not be uploaded (until it is enqueued again). */
  failedQuestions(): string[] {
    return [...this.gaveUp];
  }

  /**
   * The latest recording of a question that gave up here was uploaded anyway (the kept copy, by the
   * resume of kept recordings): it is no longer failed.
   */
  markUploaded(questionId: string): void {
    if (!this.gaveUp.delete(questionId)) return;
    this.onState(questionId, { phase: 'uploaded' });
  }

  /** Resolves when every upload started so far has succeeded or given up. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async run(questionId: string, recording: Blob, ticket: number): Promise<void> {
    const current = () => this.latest.get(questionId) === ticket;
    for (let attempt = 1; ; attempt++) {
      if (!current()) return;
      this.onState(questionId, { phase: 'uploading', attempt });
      try {
        await this.api.uploadAnswer(this.sessionId, questionId, recording);
        if (current()) this.onState(questionId, { phase: 'uploaded' });
        return;
      } catch (error) {
        if (!current()) return;
        const apiError = error instanceof ApiError ? error : new ApiError('The upload failed unexpectedly.', 0);
        if (!apiError.isTransient || attempt >= this.policy.maxAttempts) {
          this.gaveUp.add(questionId);
          this.onGaveUp?.(questionId);
          this.onState(questionId, { phase: 'failed', message: `Upload failed: ${apiError.message}` });
          return;
        }
        const retryInMs = retryDelayMs(attempt, this.policy, apiError.retryAfterSeconds);
        this.onState(questionId, { phase: 'waiting', attempt, retryInMs });
        await this.sleep(retryInMs);
      }
    }
  }
}
