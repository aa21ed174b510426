import { Injectable } from '@nestjs/common';
import { AnswerAudioStore } from '../../audio/answer-audio.store.js';
import type { RecordingTranscriber, TranscriptionTask } from './recording-transcriber.js';
import { TranscriptionProvider, type TranscriptionResult } from './transcription-provider.js';
import { verifiedAudio } from './verified-audio.js';

/** A recording the provider accepts as it is: streamed from GridFS straight to the provider. */
@Injectable()
export class WholeRecordingTranscriber implements RecordingTranscriber {
  constructor(
    private readonly audio: AnswerAudioStore,
    private readonly provider: TranscriptionProvider,
  ) {}

  async transcribe(task: TranscriptionTask, signal: AbortSignal): Promise<TranscriptionResult> {
    const stored = this.audio.openDownload(task.fileId);
    const checked = verifiedAudio(stored, task.answer.audio);
    let storageError: Error | undefined;
    stored.on('error', (error: Error) => {
      storageError = error;
      checked.stream.destroy(error);
    });
    stored.pipe(checked.stream);
    try {
      const result = await this.provider.transcribeWithin(
        {
          stream: checked.stream,
          filename: `answer-${task.questionId}.${task.answer.audio.format}`,
          contentType: task.answer.audio.content_type,
        },
        signal,
        task.hints,
      );
      checked.verify();
      return result;
    } catch (error) {
      // a storage failure explains the provider call's failure better than the call itself
      if (!signal.aborted && storageError) throw storageError;
      throw error;
    } finally {
      stored.destroy();
      checked.stream.destroy();
    }
  }
}
