import { DetailedError, Upload } from 'tus-js-client';
import { ApiError, errorFromResponse, networkError } from './api-error';
import type { UploadAccepted } from './types';

/** Bytes per PATCH: what arrived before a cut is kept by the server whatever this is; it bounds one request. */
const CHUNK_BYTES = 8 * 1024 * 1024;

export interface ResumableUploadRequest {
  token: string;
  baseUrl: string;
  sessionId: string;
  questionId: string;
  recording: Blob;
  /** A tus upload created earlier for this recording: resumed from the server's offset. */
  uploadUrl?: string;
  /**
   * `uploadUrl` was created with a deferred length (streamed while recording, LiveUpload): the PATCH
   * that brings the recording's last byte also says its length (Upload-Length).
   */
  lengthDeferred?: boolean;
  onUploadUrl?: (url: string) => void;
  signal?: AbortSignal;
}

/**
 * Uploads a recording through the server's tus endpoint (/api/uploads) with tus-js-client, resuming
 * `uploadUrl` when given (a reload, a retry) from the offset the server reports. Resolves with the
 * server's 202 body, or with null when the upload resumed turned out to hold every byte already: the
 * server's HEAD said so (it finishes such an upload before it answers), and tus-js-client reports
 * that as success with no body; the session then tells whether the recording is the answer. A
 * resumed upload the server no longer has (404: finished before, or refused and removed) fails with
 * that status rather than starting a second upload: the caller decides, knowing the session. Retries
 * are the caller's (the upload queue's backoff); failures come back as ApiErrors with the server's sentence.
 */
export function uploadResumable(request: ResumableUploadRequest): Promise<UploadAccepted | null> {
  return new Promise<UploadAccepted | null>((resolve, reject) => {
    const upload = new Upload(request.recording, {
      // without an endpoint, a resume the server refuses is an error instead of a new upload
      endpoint: request.uploadUrl ? undefined : `${request.baseUrl}/api/uploads`,
      uploadUrl: request.uploadUrl ?? null,
      headers: { Authorization: `Bearer ${request.token}` },
      metadata: { session_id: request.sessionId, question_id: request.questionId },
      chunkSize: CHUNK_BYTES,
      uploadLengthDeferred: !!request.uploadUrl && !!request.lengthDeferred,
      retryDelays: [],
      storeFingerprintForResuming: false,
      onUploadUrlAvailable: () => {
        if (upload.url) request.onUploadUrl?.(upload.url);
      },
      onSuccess: ({ lastResponse }) => {
        const body = lastResponse.getBody();
        if (!body) {
          resolve(null); // HEAD: every byte is in
          return;
        }
        try {
          resolve(JSON.parse(body) as UploadAccepted);
        } catch {
          reject(new ApiError('The server did not confirm the upload; it will be sent again.', 0));
        }
      },
      onError: (error) => void toApiError(error).then(reject),
    });
    request.signal?.addEventListener('abort', () => void upload.abort(), { once: true });
    upload.start();
  });
}

export async function toApiError(error: Error): Promise<ApiError> {
  const response = error instanceof DetailedError ? error.originalResponse : null;
  if (!response) return networkError();
  const status = response.getStatus();
  const headers = new Headers();
  const retryAfter = response.getHeader('Retry-After');
  if (retryAfter) headers.set('Retry-After', retryAfter);
  // 423: another request (this one's predecessor, not yet noticed gone) still holds it: worth retrying
  if (status === 423) return new ApiError('The upload is still busy on the server; trying again.', 503);
  return errorFromResponse(new Response(response.getBody() || null, { status, headers }));
}
