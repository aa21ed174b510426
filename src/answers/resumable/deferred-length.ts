import type { UploadHead } from '../../audio/resumable-upload.schema.js';
import { tusError, type TusError } from './tus-errors.js';

/**
 * The length rules of a PATCH (tus creation-defer-length), checked before any byte is read, each
 * refused with a sentence of its own (@tus/server's own refusals say "Upload-Length or
 * Upload-Defer-Length header required" for three different mistakes):
 * - Upload-Length is sent to an upload created with Upload-Defer-Length: 1 (again only with the
 *   same value, which the service drops before this runs), never below
 *   the bytes it holds, never 0, never above MAX_UPLOAD_BYTES;
 * - while the length is unknown, the running total is what MAX_UPLOAD_BYTES bounds: a PATCH whose
 *   Content-Length would take the upload past it is refused whole. A body without Content-Length
 *   is cut where it reaches the limit (@tus/server's stream limit), what came before kept.
 * Null when the PATCH may go on. `upload` is the owner check's read (no lock): @tus/server checks
 * the offset and the length again under the lock.
 */
export function lengthRefusal(
  upload: Pick<UploadHead, 'size' | 'offset' | 'complete'>,
  headers: Pick<Headers, 'get'>,
  maxUploadBytes: number,
): TusError | null {
  const declared = headers.get('upload-length');
  if (declared !== null) {
    if (upload.size !== null) {
      return tusError(
        400,
        `This upload's length is known already (${upload.size} bytes); Upload-Length may only repeat it, and only for an upload created with Upload-Defer-Length: 1.`,
      );
    }
    const length = Number(declared); // a whole number: @tus/server validated the header
    if (length === 0) return tusError(400, 'The recording is empty; record an answer and upload it again.');
    if (length < upload.offset) {
      return tusError(
        400,
        `Upload-Length ${length} is less than the ${upload.offset} bytes the upload holds already; send the recording's whole length.`,
      );
    }
    if (length > maxUploadBytes) return tooLarge(maxUploadBytes);
    return null;
  }
  if (upload.size !== null || upload.complete) return null;
  const contentLength = headers.get('content-length');
  if (contentLength !== null && upload.offset + Number(contentLength) > maxUploadBytes) {
    return tusError(
      413,
      `These ${Number(contentLength)} bytes would take the upload to ${upload.offset + Number(contentLength)} bytes, past MAX_UPLOAD_BYTES (${maxUploadBytes}); the recording is too long to upload.`,
    );
  }
  return null;
}

const tooLarge = (max: number) =>
  tusError(413, `The recording is larger than MAX_UPLOAD_BYTES (${max} bytes) allows; upload a shorter answer.`);
