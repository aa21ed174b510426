import type { HttpStack } from 'tus-js-client';
import type { ApiClient } from '../api/api-client';
import { LiveUpload } from '../api/live-upload';
import type { UploadAccepted } from '../api/types';
import { appendChunk, beginTake, forgetTake, rememberTakeUpload, takeKeyOf, type TakeKey } from './live-recordings';
import { DeviceStorageError } from './device-store';

/** Takes this page is recording or handing over: the offer of unfinished ones leaves them alone. */
export const activeTakes = new Set<string>();

/** What a recorder feeds while it records: each chunk as it arrives. */
export interface TakeSink {
  add(chunk: Blob): void;
  /** Record again: this take goes, here and on the server. */
  discard(): Promise<void>;
}

/**
 * One press of Record: each chunk is appended to IndexedDB (live-recordings) and streamed to the
 * server (LiveUpload) as it arrives. The device failing to keep it (full, or no IndexedDB) is said
 * once, through `onProblem`, and recording and streaming go on. When the answer is handed over,
 * `finish` ends the upload (the last chunk with Upload-Length); `forget` drops the chunks once the
 * whole recording is kept elsewhere (pending-recordings) or the server has it.
 */
export class RecordingTake implements TakeSink {
  readonly key: TakeKey;
  readonly live: LiveUpload;
  private index = 0;
  private storing: Promise<void>;
  private storable = true;
  private readonly startedAt = Date.now();
  private urlKnown!: (url: string) => void;
  /** The upload's URL once the server created it (a take that never reached the server: never). */
  readonly whenUrl = new Promise<string>((resolve) => (this.urlKnown = resolve));

  constructor(
    /** `tusHttpStack`: for tests, what the stream's tus-js-client sends with. */
    api: Pick<ApiClient, 'token' | 'baseUrl'> & { tusHttpStack?: HttpStack },
    key: Omit<TakeKey, 'attempt'>,
    mimeType: string,
    private readonly onProblem: (sentence: string) => void,
  ) {
    this.key = { ...key, attempt: `${this.startedAt.toString(36)}-${Math.random().toString(36).slice(2, 8)}` };
    activeTakes.add(takeKeyOf(this.key));
    this.live = new LiveUpload({
      token: api.token,
      baseUrl: api.baseUrl,
      sessionId: key.sessionId,
      questionId: key.questionId,
      mimeType,
      ...(api.tusHttpStack ? { httpStack: api.tusHttpStack } : {}),
      onUploadUrl: (url) => {
        this.urlKnown(url);
        this.storing = this.storing.then(() => this.keep(() => rememberTakeUpload(this.key, url)));
      },
    });
    this.storing = this.keep(() => beginTake({ ...this.key, mimeType, startedAt: this.startedAt }));
  }

  /**
   * Kept first, then sent: the server never holds more of the take than the device, so the take
   * kept after a crash can always resume the upload (its bytes are the server's and then some).
   */
  add(chunk: Blob): void {
    const index = this.index++;
    const durationMs = Date.now() - this.startedAt;
    this.storing = this.storing
      .then(() => this.keep(() => appendChunk(this.key, index, chunk, durationMs)))
      .then(() => this.live.append(chunk));
  }

  /**
   * The recording is the answer: the upload ends (its 202, or an ApiError for the queue to resume
   * from `url`). Called again, it gives the same outcome. Chunks still being kept are not sent on
   * their own: they go with the length, in the upload's last PATCH.
   */
  async finish(): Promise<UploadAccepted | null> {
    this.live.ending();
    await this.storing; // every chunk kept and handed to the upload first
    return this.live.finish();
  }

  get url(): string | null {
    return this.live.url;
  }

  async discard(): Promise<void> {
    activeTakes.delete(takeKeyOf(this.key));
    const terminated = this.live.terminate();
    await this.forget();
    await terminated;
  }

  /** Drops the chunks kept on the device (the recording is kept whole, or on the server). */
  async forget(): Promise<void> {
    await this.storing;
    this.storable = false;
    await forgetTake(this.key).catch(() => undefined);
    activeTakes.delete(takeKeyOf(this.key));
  }

  private async keep(write: () => Promise<void>): Promise<void> {
    if (!this.storable) return;
    try {
      await write();
    } catch (error) {
      this.storable = false; // said once; the recording goes on in memory
      this.onProblem(
        error instanceof DeviceStorageError
          ? error.message
          : 'This device could not keep the answer while you record; recording goes on.',
      );
    }
  }
}
