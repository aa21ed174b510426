import type { AnswerStatusView } from '../api/types';
import type { UploadState } from './upload-queue';

/** What the app knows about one question's answer: its upload here, its transcription there. */
export interface AnswerProgress {
  upload?: UploadState;
  transcription?: AnswerStatusView;
  /** A sentence about the last retry that did not work. */
  retryError?: string;
}

export type IndicatorTone = 'idle' | 'busy' | 'done' | 'failed';

export interface Indicator {
  label: string;
  tone: IndicatorTone;
  detail?: string;
  canRetry: boolean;
}

/** The small per-question status the candidate sees: queued, transcribing, done, failed. */
export function indicatorFor(progress: AnswerProgress | undefined): Indicator {
  const upload = progress?.upload;
  if (upload?.phase === 'uploading') return { label: 'Uploading', tone: 'busy', canRetry: false };
  if (upload?.phase === 'waiting') {
    return {
      label: 'Queued',
      tone: 'busy',
      detail: `Connection problem; trying again in ${Math.ceil(upload.retryInMs / 1000)} s.`,
      canRetry: false,
    };
  }
  if (upload?.phase === 'failed') {
    return { label: 'Failed', tone: 'failed', detail: progress?.retryError ?? upload.message, canRetry: true };
  }
  const transcription = progress?.transcription;
  switch (transcription?.status) {
    case 'completed':
      return { label: 'Done', tone: 'done', canRetry: false };
    case 'processing':
      return { label: 'Transcribing', tone: 'busy', canRetry: false };
    case 'failed':
      return {
        label: 'Failed',
        tone: 'failed',
        detail: progress?.retryError ?? `Transcription failed: ${transcription.error ?? 'no reason given'}`,
        canRetry: true,
      };
    case 'queued':
      return { label: 'Queued', tone: 'busy', canRetry: false };
  }
  if (upload?.phase === 'uploaded') return { label: 'Queued', tone: 'busy', canRetry: false };
  return { label: 'Not answered', tone: 'idle', canRetry: false };
}

/** Answers still on their way: uploading, queued or transcribing. */
export function pendingCount(progress: Record<string, AnswerProgress>): number {
  return Object.values(progress).filter((p) => indicatorFor(p).tone === 'busy').length;
}
