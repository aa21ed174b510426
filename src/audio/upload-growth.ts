import type { ObjectId } from 'mongodb';

/**
 * Emitted when a PATCH stored bytes of a resumable upload that is not complete yet: only a nudge to
 * look at it now (transcribing ahead, src/transcription/ahead); its document holds the state.
 */
export const UPLOAD_GREW = 'upload.grew';

export interface UploadGrewEvent {
  uploadId: ObjectId;
  sessionId: ObjectId;
  questionId: string;
  /** The bytes it holds now. */
  offset: number;
  /** The PATCH's request id, for the log. */
  requestId: string | null;
}
