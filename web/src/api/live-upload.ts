import { DetailedError, Upload, type HttpStack } from 'tus-js-client';
import { ApiError } from './api-error';
import { toApiError } from './resumable-upload';
import type { UploadAccepted } from './types';

/** Bytes per PATCH at most: a PATCH normally carries the seconds recorded since the last one. */
const MAX_PATCH_BYTES = 1024 * 1024;
/** Waits between tries while recording: the network may come back at any moment. */
const RETRY_DELAYS_MS = [500, 1_000, 2_000, 4_000, 8_000];

/**
 * A recording as tus-js-client reads it while it grows (its `fileReader` source). A slice waits
 * until there is at least one byte from `start` on (or the recording ended), and gives what there
 * is up to `end`: each PATCH carries what was recorded since the last one. `done` is said with the
 * last bytes once the recording ended, so tus-js-client sends Upload-Length with them. Once the
 * recording is ending (`ending`: handed over, its last chunks still on their way) a slice waits for
 * the end, so that what is left goes in one PATCH with the length instead of a PATCH of the last
 * chunk and then an empty one: a round trip less between Stop and the 202. Every byte is kept until
 * the end: a resume may start at any offset the server reports.
 */
export class GrowingSource {
  /** tus-js-client reads it only for uploads of known length; this one's is deferred. */
  readonly size = Number.NaN;
  private parts: Blob[] = [];
  private total = 0;
  private ended = false;
  private endingSoon = false;
  private waiting: (() => void)[] = [];

  constructor(private readonly type = '') {}

  get length(): number {
    return this.total;
  }

  get hasEnded(): boolean {
    return this.ended;
  }

  push(chunk: Blob): void {
    if (this.ended) throw new Error('the recording has ended');
    this.parts.push(chunk);
    this.total += chunk.size;
    this.wake();
  }

  /** No slice until `end()`: the rest goes with the length. */
  ending(): void {
    this.endingSoon = true;
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Everything recorded, as one Blob. */
  whole(): Blob {
    return new Blob(this.parts, { type: this.type });
  }

  async slice(start: number, end: number): Promise<{ value: Blob | null; done: boolean }> {
    while (!this.ended && (this.endingSoon || this.total <= start)) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    const stop = Math.min(end, this.total);
    const value = start < stop ? this.whole().slice(start, stop) : null;
    return { value, done: this.ended && stop === this.total };
  }

  close(): void {}

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}

export interface LiveUploadRequest {
  token: string;
  baseUrl: string;
  sessionId: string;
  questionId: string;
  mimeType: string;
  onUploadUrl?: (url: string) => void;
  /** For tests: how long to wait before try number `attempt` (1, 2, …) while recording. */
  retryDelayMs?: (attempt: number) => number;
  /** For tests: the HTTP stack tus-js-client sends with (the browser's XMLHttpRequest otherwise). */
  httpStack?: HttpStack;
}

/**
 * A recording streamed to the server while it is made: a tus upload of deferred length
 * (Upload-Defer-Length: 1) that takes each chunk as it is recorded. A cut connection, an offline
 * spell or a busy server is tried again, from the offset the server reports (HEAD), for as long as
 * the recording goes on. `finish()` ends the recording: the last chunk goes with Upload-Length and
 * the server's 202 comes back. A failure after that is not tried again here: the caller (the upload
 * queue) resumes `url` with its own backoff, from the recording kept on the device.
 */
export class LiveUpload {
  readonly source: GrowingSource;
  url: string | null = null;
  private upload: Upload | null = null;
  private stopped = false;
  private tries = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private settle!: { resolve: (body: UploadAccepted | null) => void; reject: (error: ApiError) => void };
  private readonly outcome: Promise<UploadAccepted | null>;
  private readonly onOnline = () => this.retryNow();

  constructor(private readonly request: LiveUploadRequest) {
    this.source = new GrowingSource(request.mimeType);
    this.outcome = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.outcome.catch(() => undefined); // observed by finish()
    if (typeof window !== 'undefined') window.addEventListener('online', this.onOnline);
    this.start();
  }

  append(chunk: Blob): void {
    if (this.stopped || this.source.hasEnded) return; // discarded, or finished: nothing more goes
    this.source.push(chunk);
  }

  /**
   * The recording is about to end (its last chunks are still being kept): nothing more is sent
   * until `finish()`, which sends the rest with the length.
   */
  ending(): void {
    this.source.ending();
  }

  /** Ends the recording; resolves with the 202 body (null: a HEAD found every byte in), rejects with an ApiError. */
  finish(): Promise<UploadAccepted | null> {
    // discarded or settled: a slice still waiting for data must not wake up and send the length
    if (this.stopped) return this.outcome;
    if (!this.source.hasEnded) this.source.end();
    // a try that waits for its next turn goes now: the candidate is waiting for this one
    if (!this.stopped && this.timer !== undefined) this.retryNow();
    return this.outcome;
  }

  /** Stops sending (the server keeps what it has). */
  abort(): void {
    this.stop();
    void this.upload?.abort(false);
    this.settle.reject(new ApiError('The recording was discarded.', 0));
  }

  /** Discards the recording: stops sending and removes the upload from the server (tus termination). */
  async terminate(): Promise<void> {
    this.abort();
    if (this.url) await terminateUpload(this.url, this.request.token, this.request.httpStack);
  }

  private start(): void {
    if (this.stopped) return;
    this.timer = undefined;
    const { request } = this;
    const upload: Upload = new Upload(this.source, {
      endpoint: this.url ? undefined : `${request.baseUrl}/api/uploads`,
      uploadUrl: this.url,
      uploadLengthDeferred: true,
      fileReader: { openFile: () => Promise.resolve(this.source) },
      headers: { Authorization: `Bearer ${request.token}` },
      metadata: { session_id: request.sessionId, question_id: request.questionId },
      chunkSize: MAX_PATCH_BYTES,
      retryDelays: [],
      storeFingerprintForResuming: false,
      ...(request.httpStack ? { httpStack: request.httpStack } : {}),
      onUploadUrlAvailable: () => {
        if (!upload.url || upload.url === this.url) return;
        this.url = upload.url;
        request.onUploadUrl?.(upload.url);
      },
      onChunkComplete: () => {
        this.tries = 0;
      },
      onSuccess: ({ lastResponse }) => {
        this.stop();
        const body = lastResponse.getBody();
        if (!body) return this.settle.resolve(null);
        try {
          this.settle.resolve(JSON.parse(body) as UploadAccepted);
        } catch {
          this.settle.reject(new ApiError('The server did not confirm the upload; it will be sent again.', 0));
        }
      },
      onError: (error) => void this.failed(error),
    });
    this.upload = upload;
    upload.start();
  }

  private async failed(error: Error): Promise<void> {
    if (this.stopped) return;
    const apiError = await toApiError(error);
    const status = error instanceof DetailedError ? (error.originalResponse?.getStatus() ?? 0) : 0;
    // a refusal (the session closed, the upload gone): nothing to try again; the queue takes over
    const refused = status >= 400 && status < 500 && status !== 409 && status !== 423 && status !== 429;
    if (refused || this.source.hasEnded) {
      this.stop();
      this.settle.reject(apiError);
      return;
    }
    const delay = this.request.retryDelayMs?.(++this.tries) ?? RETRY_DELAYS_MS[Math.min(this.tries++, 4)];
    this.timer = setTimeout(() => this.start(), Math.max(delay, (apiError.retryAfterSeconds ?? 0) * 1000));
  }

  private retryNow(): void {
    if (this.stopped || this.timer === undefined) return;
    clearTimeout(this.timer);
    this.start();
  }

  private stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    if (typeof window !== 'undefined') window.removeEventListener('online', this.onOnline);
  }
}

/** Removes an unfinished upload from the server (tus termination); one that is gone already is fine. */
export async function terminateUpload(url: string, token: string, httpStack?: HttpStack): Promise<void> {
  try {
    await Upload.terminate(url, {
      headers: { Authorization: `Bearer ${token}` },
      retryDelays: [0, 1_000, 3_000],
      ...(httpStack ? { httpStack } : {}),
    });
  } catch (error) {
    const status = error instanceof DetailedError ? error.originalResponse?.getStatus() : undefined;
    if (status !== 404 && status !== 410) throw await toApiError(error as Error);
  }
}
