import { Inject, Injectable, Logger } from '@nestjs/common';
import { createReadStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { transcriptionSettings, type TranscriptionSettings } from '../../config/settings.js';
import { classifyError, refusedHints, retryDelayMs } from '../recording/retry-policy.js';
import type { InterviewHints } from '../recording/transcription-task.js';
import { hasHints, NO_HINTS } from './interview-hints.js';
import { TranscriptionProvider, type TranscriptionResult } from './transcription-provider.js';

/** The hints the pieces of one recording are sent with: the interview's, or none once refused. */
export interface PieceHints {
  readonly interview: InterviewHints;
  current: InterviewHints;
}

/** A time in a recording as a piece's name gives it: m:ss. */
export const clock = (seconds: number) => {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** One piece of a recording on disk (Ogg Opus), as the provider is sent it. */
export interface PieceToSend {
  file: string;
  questionId: string;
  /** Its place among the recording's pieces, from 0 (the provider sees it in the file name). */
  index: number;
  /** For the log and for an error the user reads, e.g. "Piece 2 of 5 (0:40–1:20)". */
  name: string;
  /** Who asks, for the log: session/question. */
  of: string;
}

/**
 * Sends one piece of a recording to the provider: retried alone on transient failures (at most
 * TRANSCRIPTION_MAX_ATTEMPTS), sent again without the interview's hints once the provider refused
 * them (the pieces after it too: `hints` is shared), and failed for good on a permanent error.
 * `signal` aborts the request itself; `stop` only ends the retries.
 */
@Injectable()
export class PieceSender {
  /** Lines about transcription work share the one context operators filter by. */
  private readonly logger = new Logger('TranscriptionWorker');

  constructor(
    private readonly provider: TranscriptionProvider,
    @Inject(transcriptionSettings.KEY) private readonly settings: TranscriptionSettings,
  ) {}

  hintsFor(interview: InterviewHints): PieceHints {
    return { interview, current: interview };
  }

  async send(
    piece: PieceToSend,
    hints: PieceHints,
    signal: AbortSignal,
    stop?: AbortSignal,
  ): Promise<TranscriptionResult> {
    for (let attempt = 1; ; attempt++) {
      const sent = hints.current;
      try {
        const result = await this.provider.transcribeWithin(
          {
            stream: createReadStream(piece.file),
            filename: `answer-${piece.questionId}-part-${String(piece.index).padStart(3, '0')}.ogg`,
            contentType: 'audio/ogg',
          },
          signal,
          sent,
        );
        return sent === hints.interview ? result : { ...result, withoutHints: true };
      } catch (error) {
        if (signal.aborted) throw signal.reason ?? error;
        if (refusedHints(error) && hasHints(sent)) {
          // the terms or the language were refused, not the audio: this piece and the rest go without them
          this.logger.warn(
            `${piece.name} of ${piece.of}: the provider refused the hints; ` +
              `sending the pieces without them [${classifyError(error).detail}]`,
          );
          hints.current = NO_HINTS;
          attempt--;
          continue;
        }
        const failure = classifyError(error);
        if (failure.kind === 'permanent') {
          throw failure.within(`${piece.name} could not be transcribed: `, 'permanent');
        }
        if (attempt >= this.settings.maxAttempts) {
          throw failure.within(`${piece.name} could not be transcribed after ${attempt} attempts: `, 'permanent');
        }
        if (stop?.aborted) throw error; // the answer fails already: no retry of this piece
        const delay = retryDelayMs(failure, attempt, this.settings.retry);
        this.logger.warn(
          `${piece.name} of ${piece.of}: attempt ${attempt} failed, retrying in ${delay} ms: ${failure.logText}`,
        );
        await sleep(delay, undefined, { signal: stop ? AbortSignal.any([signal, stop]) : signal }).catch(() => {
          throw signal.aborted ? signal.reason : error;
        });
      }
    }
  }
}
