/** 202 after an upload: the audio is stored and queued for transcription. */
export class UploadAcceptedView {
  status: 'processing';
  message: string;
  /** The GridFS file now holding the audio. */
  file_id: string;
  transcription_status: 'queued';
  /** SHA-256 of the bytes received, hex. */
  sha256: string;
}

/** 202 after a retry: the failed answer is queued again. */
export class RetryAcceptedView {
  status: 'processing';
  message: string;
  file_id: string;
  transcription_status: 'queued';
}
