import { AsyncLocalStorage } from 'node:async_hooks';
import type { UploadHead } from '../../audio/resumable-upload.schema.js';
import type { UploadAcceptedView } from '../dto/answer-views.dto.js';

/**
 * What one tus request carries from @tus/server's hooks to the store, whose methods see only an
 * upload id: who asks, the upload as the owner check read it (so HEAD reads it once), and the 202
 * body of an upload the request finished (for onUploadFinish, which runs after the store's write).
 */
export interface TusRequestState {
  method: string;
  userId?: string;
  /** The request's X-Request-Id, for the answer it may create. */
  requestId?: string | null;
  upload?: UploadHead;
  accepted?: UploadAcceptedView;
}

const requests = new AsyncLocalStorage<TusRequestState>();

export function withTusRequest<T>(state: TusRequestState, work: () => Promise<T>): Promise<T> {
  return requests.run(state, work);
}

/** The state of the tus request being served (undefined outside one: the cleanup, a test). */
export function currentTusRequest(): TusRequestState | undefined {
  return requests.getStore();
}
