import { Inject, Injectable, Logger } from '@nestjs/common';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AnswerAudioStore } from '../../audio/answer-audio.store.js';
import { untilStored } from '../../common/backoff.js';
import { transcriptionSettings, type TranscriptionSettings } from '../../config/settings.js';
import type { AnswerPiece } from '../../interview-record/answer-queue-state.schema.js';
import { ClaimProgress } from '../queue/claim-progress.js';
import { classifyError, refusedHints, retryDelayMs, TranscriptionFailure } from '../recording/retry-policy.js';
import { SpeechMeter } from '../speech/speech-meter.js';
import { AudioTools } from '../recording/audio-tools.js';
import { hasHints, NO_HINTS } from './interview-hints.js';
import { planPieces } from './piece-plan.js';
import type { RecordingTranscriber } from './recording-transcriber.js';
import { ClaimLost, type InterviewHints, type TranscriptionTask } from '../recording/transcription-task.js';
import { TranscriptionProvider, type TranscriptionResult } from './transcription-provider.js';
import { verifiedAudio } from '../recording/verified-audio.js';
import { createWorkDirectory, removeWorkDirectory } from '../recording/work-directory.js';

/** The hints the pieces of one recording are sent with: the interview's, or none once refused. */
interface PieceHints {
  current: InterviewHints;
}

const clock = (seconds: number) => {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/**
 * Transcribes a recording over the provider's size limit: copies it from GridFS to a temporary
 * file (checking its SHA-256 on the way), re-encodes it to mono 16 kHz Opus while the speech detector
 * hears the same decode, cuts that at the pauses it found into pieces the provider accepts, and transcribes the pieces a few at a time. Each finished piece
 * is stored on the answer at once, so a failed piece is retried alone and a restarted job only
 * sends the pieces still missing.
 */
@Injectable()
export class LargeRecordingTranscriber implements RecordingTranscriber {
  private readonly logger = new Logger(LargeRecordingTranscriber.name);

  constructor(
    private readonly audio: AnswerAudioStore,
    private readonly progress: ClaimProgress,
    private readonly provider: TranscriptionProvider,
    private readonly tools: AudioTools,
    private readonly speech: SpeechMeter,
    @Inject(transcriptionSettings.KEY) private readonly settings: TranscriptionSettings,
  ) {}

  async transcribe(job: TranscriptionTask, signal: AbortSignal): Promise<TranscriptionResult> {
    if (!(await this.tools.available())) throw new TranscriptionFailure(AudioTools.MISSING, 'permanent');
    this.provider.assertConfigured();
    const dir = await createWorkDirectory();
    try {
      const format = /^[a-z0-9]{1,10}$/.test(job.answer.audio.format) ? job.answer.audio.format : 'bin';
      const source = join(dir, `source.${format}`);
      await this.download(job, source, signal);
      const compressed = join(dir, 'compressed.ogg');
      // the speech detector hears the same decode that compresses: a large recording is decoded once
      const detector = this.speech.detector();
      let heard: ReturnType<SpeechMeter['judge']>;
      try {
        await this.tools.compress(source, job.answer.audio.format, compressed, signal, (samples) =>
          detector.push(samples),
        );
        heard = this.speech.judge(detector);
      } finally {
        detector.dispose();
      }
      await rm(source);
      const { reading, silences } = heard;
      const duration = await this.tools.durationSeconds(compressed, 'ogg', signal);
      if (reading?.noSpeech) return { text: '', language: null, duration_seconds: null, segments: null, reading };
      const compressedBytes = (await stat(compressed)).size;

      let pieces = job.answer.pieces ?? [];
      const resumable = pieces.length > 0 && Math.abs(pieces.at(-1)!.end_seconds - duration) < 1;
      if (!resumable) {
        pieces = planPieces(duration, compressedBytes, silences, {
          maxBytes: this.settings.maxFileBytes,
          maxSeconds: this.settings.pieceSeconds,
        }).map((p) => ({ ...p, done: false, text: null, language: null, segments: null }));
        if (!(await this.progress.recordPieces(job.sessionId, job.questionId, job.claimId, pieces, 0))) {
          throw new ClaimLost();
        }
      }
      this.logger.log(
        `session=${String(job.sessionId)} question=${job.questionId}: ${job.answer.audio.size_bytes} bytes → ${compressedBytes} bytes of Opus, ` +
          `${duration.toFixed(1)} s in ${pieces.length} piece(s)` +
          (resumable ? `, ${pieces.filter((p) => p.done).length} already transcribed` : ''),
      );

      const piecesDir = join(dir, 'pieces');
      await mkdir(piecesDir);
      const files = await this.tools.split(
        compressed,
        pieces.slice(1).map((p) => p.start_seconds),
        piecesDir,
        signal,
      );
      await rm(compressed);
      await this.transcribePieces(job, pieces, files, signal);
      return { ...joinPieces(pieces, duration), reading };
    } finally {
      await removeWorkDirectory(dir);
    }
  }

  /** GridFS to a temporary file, one chunk at a time, checking the bytes against the upload's SHA-256. */
  private async download(job: TranscriptionTask, target: string, signal: AbortSignal): Promise<void> {
    const stored = this.audio.openDownload(job.fileId);
    const checked = verifiedAudio(stored, job.answer.audio);
    await pipeline(stored, checked.stream, createWriteStream(target), { signal }).catch((error: unknown) => {
      throw signal.aborted ? signal.reason : error;
    });
    checked.verify();
  }

  /** Sends the pieces not yet transcribed, at most TRANSCRIPTION_PIECE_CONCURRENCY at a time. */
  private async transcribePieces(
    job: TranscriptionTask,
    pieces: AnswerPiece[],
    files: string[],
    signal: AbortSignal,
  ): Promise<void> {
    const pending = pieces.flatMap((p, index) => (p.done ? [] : [index]));
    let done = pieces.length - pending.length;
    const stopOthers = new AbortController();
    // once the provider refused the hints, the pieces still to send go without them
    const hints: PieceHints = { current: job.hints };
    let next = 0;
    const lane = async () => {
      while (next < pending.length && !signal.aborted && !stopOthers.signal.aborted) {
        const index = pending[next++];
        const result = await this.transcribePiece(job, pieces, index, files[index], hints, signal, stopOthers.signal);
        pieces[index] = {
          ...pieces[index],
          done: true,
          text: result.text,
          language: result.language,
          segments: result.segments,
          ...(result.withoutHints ? { without_hints: true } : {}),
        };
        done++;
        const progress = Math.floor((done * 100) / pieces.length);
        // the provider answered this piece: its write is retried, never the paid call (a lost claim stops it)
        const held = await untilStored(
          () => this.progress.recordPiece(job.sessionId, job.questionId, job.claimId, index, pieces[index], progress),
          signal,
          (error, attempt, delay) =>
            this.logger.warn(
              `could not keep piece ${index + 1} of session=${String(job.sessionId)} question=${job.questionId} ` +
                `(try ${attempt}): ${error.message}; trying again in ${delay} ms`,
            ),
        );
        if (held === undefined) throw signal.reason;
        if (!held) throw new ClaimLost();
      }
    };
    const lanes = Array.from({ length: Math.min(this.settings.pieceConcurrency, pending.length) }, lane);
    try {
      await Promise.all(lanes);
    } catch (error) {
      // one piece failed for good: the others start no new piece and try none again, but finish and
      // keep the one they are sending (the provider is answering it, and a retry of the answer then
      // need not pay for it twice); all end before their files go
      stopOthers.abort();
      await Promise.allSettled(lanes);
      throw signal.aborted ? signal.reason : error;
    }
  }

  /**
   * One piece, retried alone on transient failures; a piece that cannot be transcribed fails the
   * answer. `signal` aborts the request itself; `stop` (another piece failed) only ends the retries.
   */
  private async transcribePiece(
    job: TranscriptionTask,
    pieces: AnswerPiece[],
    index: number,
    file: string,
    hints: PieceHints,
    signal: AbortSignal,
    stop: AbortSignal,
  ): Promise<TranscriptionResult> {
    const piece = pieces[index];
    const name = `Piece ${index + 1} of ${pieces.length} (${clock(piece.start_seconds)}–${clock(piece.end_seconds)})`;
    for (let attempt = 1; ; attempt++) {
      const sent = hints.current;
      try {
        const result = await this.provider.transcribeWithin(
          {
            stream: createReadStream(file),
            filename: `answer-${job.questionId}-part-${String(index).padStart(3, '0')}.ogg`,
            contentType: 'audio/ogg',
          },
          signal,
          sent,
        );
        return sent === job.hints ? result : { ...result, withoutHints: true };
      } catch (error) {
        if (signal.aborted) throw signal.reason ?? error;
        if (refusedHints(error) && hasHints(sent)) {
          // the terms or the language were refused, not the audio: this piece and the rest go without them
          this.logger.warn(
            `${name} of session=${String(job.sessionId)} question=${job.questionId}: the provider refused the hints; ` +
              `sending the pieces without them [${classifyError(error).detail}]`,
          );
          hints.current = NO_HINTS;
          attempt--;
          continue;
        }
        const failure = classifyError(error);
        if (failure.kind === 'permanent') {
          throw failure.within(`${name} could not be transcribed: `, 'permanent');
        }
        if (attempt >= this.settings.maxAttempts) {
          throw failure.within(`${name} could not be transcribed after ${attempt} attempts: `, 'permanent');
        }
        if (stop.aborted) throw error; // the answer fails already: no retry of this piece
        const delay = retryDelayMs(failure, attempt, this.settings.retry);
        this.logger.warn(
          `${name} of session=${String(job.sessionId)} question=${job.questionId}: attempt ${attempt} failed, retrying in ${delay} ms: ${failure.logText}`,
        );
        await sleep(delay, undefined, { signal: AbortSignal.any([signal, stop]) }).catch(() => {
          throw signal.aborted ? signal.reason : error;
        });
      }
    }
  }
}

/** The pieces' results as one transcript, with segment times counted from the recording's start. */
function joinPieces(pieces: AnswerPiece[], duration: number): TranscriptionResult {
  const languages = new Map<string, number>();
  for (const p of pieces) if (p.language) languages.set(p.language, (languages.get(p.language) ?? 0) + 1);
  const language = [...languages.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  const timed = pieces.every((p) => Array.isArray(p.segments));
  const withoutHints = pieces.some((p) => p.without_hints);
  const ms = (t: number) => Math.round(t * 1000) / 1000;
  return {
    text: pieces
      .map((p) => p.text ?? '')
      .filter(Boolean)
      .join(' '),
    language,
    duration_seconds: ms(duration),
    segments: timed
      ? pieces.flatMap((p) =>
          p.segments!.map((s) => ({
            start: ms(p.start_seconds + s.start),
            end: ms(p.start_seconds + s.end),
            text: s.text,
          })),
        )
      : null,
    ...(withoutHints ? { withoutHints: true } : {}),
  };
}
