import { Injectable, Logger } from '@nestjs/common';
import { AnswerAudioStore } from '../../audio/answer-audio.store.js';
import { classifyError, refusedHints } from '../recording/retry-policy.js';
import { hasHints, NO_HINTS } from './interview-hints.js';
import type { RecordingTranscriber } from './recording-transcriber.js';
import type { InterviewHints, TranscriptionTask } from '../recording/transcription-task.js';
import { TranscriptionProvider, type TranscriptionResult } from './transcription-provider.js';
import { verifiedAudio } from '../recording/verified-audio.js';

/**
 * A recording the provider accepts as it is: streamed from GridFS straight to the provider. When the
 * provider refuses the interview's hints (keywords, prompt, language), the recording is read again
 * and sent once without them: no answer fails for a term the candidate cannot change by speaking.
 */
@Injectable()
export class WholeRecordingTranscriber implements RecordingTranscriber {
  private readonly logger = new Logger(WholeRecordingTranscriber.name);

  constructor(
    private readonly audio: AnswerAudioStore,
    private readonly provider: TranscriptionProvider,
  ) {}

  async transcribe(task: TranscriptionTask, signal: AbortSignal): Promise<TranscriptionResult> {
    try {
      return await this.send(task, task.hints, signal);
    } catch (error) {
      if (signal.aborted || !refusedHints(error) || !hasHints(task.hints)) throw error;
      this.logger.warn(
        `session=${String(task.sessionId)} question=${task.questionId}: the provider refused the hints; ` +
          `sending the recording again without them [${classifyError(error).detail}]`,
      );
      return { ...(await this.send(task, NO_HINTS, signal)), withoutHints: true };
    }
  }

  private async send(
    task: TranscriptionTask,
    hints: InterviewHints,
    signal: AbortSignal,
  ): Promise<TranscriptionResult> {
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
        hints,
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
