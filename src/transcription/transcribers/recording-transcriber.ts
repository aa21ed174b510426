import type { TranscriptionTask } from '../recording/transcription-task.js';
import type { TranscriptionResult } from './transcription-provider.js';

/** Turns a claimed answer's stored audio into a transcript. */
export interface RecordingTranscriber {
  transcribe(task: TranscriptionTask, signal: AbortSignal): Promise<TranscriptionResult>;
}
