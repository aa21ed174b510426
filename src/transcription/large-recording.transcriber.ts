import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Types } from 'mongoose';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AnswerAudioStore } from '../audio/answer-audio.store.js';
import { Sha256Meter } from '../common/sha256-meter.js';
import type { EnvironmentVariables } from '../config/environment.js';
import type { Answer, AnswerPiece } from '../sessions/session.schema.js';
import { SessionStore } from '../sessions/session.store.js';
import { AudioTools } from './audio-tools.js';
import { planPieces } from './piece-plan.js';
import { classifyError, retryDelayMs, TranscriptionFailure, type RetryPolicy } from './retry-policy.js';
import { Transcriber, type TranscriptionResult } from './transcriber.js';
import { createWorkDirectory, removeWorkDirectory } from './work-directory.js';

export interface LargeRecordingJob {
  sessionId: Types.ObjectId;
  questionId: string;
  claimId: string;
  fileId: Types.ObjectId;
  answer: Answer;
  language: string | null;
  /** Aborts the job because its claim is gone (another worker, a re-upload, a withdrawal). */
  loseClaim: () => void;
  /** Tells listeners (SSE) that the answer's progress changed. */
  changed: () => void;
}

const clock = (seconds: number) => {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/**
 * Transcribes a recording over the provider's size limit: copies it from GridFS to a temporary
 * file (checking its SHA-256 on the way), re-encodes it to mono 16 kHz Opus, cuts that at pauses
 * into pieces the provider accepts, and transcribes the pieces a few at a time. Each finished piece
 * is stored on the answer at once, so a failed piece is retried alone and a restarted job only
 * sends the pieces still missing.
 */
@Injectable()
export class LargeRecordingTranscriber {
  private readonly logger = new Logger(LargeRecordingTranscriber.name);
  readonly maxFileBytes: number;
  private readonly maxPieceSeconds: number;
  private readonly pieceConcurrency: number;
  private readonly maxAttempts: number;
  private readonly retryPolicy: RetryPolicy;

  constructor(
    private readonly audio: AnswerAudioStore,
    private readonly sessions: SessionStore,
    private readonly transcriber: Transcriber,
    private readonly tools: AudioTools,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.maxFileBytes = config.get('TRANSCRIPTION_MAX_FILE_BYTES', { infer: true });
    this.maxPieceSeconds = config.get('TRANSCRIPTION_PIECE_SECONDS', { infer: true });
    this.pieceConcurrency = config.get('TRANSCRIPTION_PIECE_CONCURRENCY', { infer: true });
    this.maxAttempts = config.get('TRANSCRIPTION_MAX_ATTEMPTS', { infer: true });
    this.retryPolicy = {
      baseMs: config.get('TRANSCRIPTION_RETRY_BASE_MS', { infer: true }),
      maxMs: config.get('TRANSCRIPTION_RETRY_MAX_MS', { infer: true }),
    };
  }

  async transcribe(job: LargeRecordingJob, signal: AbortSignal): Promise<TranscriptionResult> {
    if (!(await this.tools.available())) throw new TranscriptionFailure(AudioTools.MISSING, 'permanent');
    this.transcriber.assertConfigured();
    const dir = await createWorkDirectory();
    try {
      const format = /^[a-z0-9]{1,10}$/.test(job.answer.audio.format) ? job.answer.audio.format : 'bin';
      const source = join(dir, `source.${format}`);
      await this.download(job, source, signal);
      const compressed = join(dir, 'compressed.ogg');
      const silences = await this.tools.compress(source, compressed, signal);
      await rm(source);
      const duration = await this.tools.durationSeconds(compressed, signal);
      const compressedBytes = (await stat(compressed)).size;

      let pieces = job.answer.pieces ?? [];
      const resumable = pieces.length > 0 && Math.abs(pieces.at(-1)!.end_seconds - duration) < 1;
      if (!resumable) {
        pieces = planPieces(duration, compressedBytes, silences, {
          maxBytes: this.maxFileBytes,
          maxSeconds: this.maxPieceSeconds,
        }).map((p) => ({ ...p, done: false, text: null, language: null, segments: null }));
        if (!(await this.sessions.recordPieces(job.sessionId, job.questionId, job.claimId, pieces, 0))) {
          job.loseClaim();
          throw signal.reason;
        }
        job.changed();
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
      return joinPieces(pieces, duration);
    } finally {
      await removeWorkDirectory(dir);
    }
  }

  /** GridFS to a temporary file, one chunk at a time, checking the bytes against the upload's SHA-256. */
  private async download(job: LargeRecordingJob, target: string, signal: AbortSignal): Promise<void> {
    const meter = new Sha256Meter();
    await pipeline(
      this.audio.openDownload(job.fileId),
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          meter.update(chunk);
          callback(null, chunk);
        },
      }),
      createWriteStream(target),
      { signal },
    ).catch((error: unknown) => {
      throw signal.aborted ? signal.reason : error;
    });
    const expected = job.answer.audio.sha256;
    if (expected && (meter.bytes !== job.answer.audio.size_bytes || meter.digest() !== expected)) {
      throw new TranscriptionFailure(
        'The stored audio failed its integrity check (SHA-256 mismatch); upload the answer again.',
        'permanent',
      );
    }
  }

  /** Sends the pieces not yet transcribed, at most TRANSCRIPTION_PIECE_CONCURRENCY at a time. */
  private async transcribePieces(
    job: LargeRecordingJob,
    pieces: AnswerPiece[],
    files: string[],
    signal: AbortSignal,
  ): Promise<void> {
    const pending = pieces.flatMap((p, index) => (p.done ? [] : [index]));
    let done = pieces.length - pending.length;
    const stopOthers = new AbortController();
    const shared = AbortSignal.any([signal, stopOthers.signal]);
    let next = 0;
    const lane = async () => {
      while (next < pending.length && !shared.aborted) {
        const index = pending[next++];
        const result = await this.transcribePiece(job, pieces, index, files[index], shared);
        pieces[index] = {
          ...pieces[index],
          done: true,
          text: result.text,
          language: result.language,
          segments: result.segments,
        };
        done++;
        const progress = Math.floor((done * 100) / pieces.length);
        const held = await this.sessions.recordPiece(
          job.sessionId,
          job.questionId,
          job.claimId,
          index,
          pieces[index],
          progress,
        );
        if (!held) {
          job.loseClaim();
          throw signal.reason;
        }
        job.changed();
      }
    };
    const lanes = Array.from({ length: Math.min(this.pieceConcurrency, pending.length) }, lane);
    try {
      await Promise.all(lanes);
    } catch (error) {
      // one piece failed for good: stop the others, and let them end before their files go
      stopOthers.abort();
      await Promise.allSettled(lanes);
      throw signal.aborted ? signal.reason : error;
    }
  }

  /** One piece, retried alone on transient failures; a piece that cannot be transcribed fails the answer. */
  private async transcribePiece(
    job: LargeRecordingJob,
    pieces: AnswerPiece[],
    index: number,
    file: string,
    signal: AbortSignal,
  ): Promise<TranscriptionResult> {
    const piece = pieces[index];
    const name = `Piece ${index + 1} of ${pieces.length} (${clock(piece.start_seconds)}–${clock(piece.end_seconds)})`;
    for (let attempt = 1; ; attempt++) {
      const deadline = AbortSignal.timeout(this.transcriber.timeoutMs);
      try {
        return await this.transcriber.transcribe(
          {
            stream: createReadStream(file),
            filename: `answer-${job.questionId}-part-${String(index).padStart(3, '0')}.ogg`,
            contentType: 'audio/ogg',
          },
          AbortSignal.any([signal, deadline]),
          job.language,
        );
      } catch (error) {
        if (signal.aborted) throw signal.reason ?? error;
        const failure = deadline.aborted
          ? new TranscriptionFailure(
              `The transcription provider did not answer within ${this.transcriber.timeoutMs} ms.`,
              'transient',
            )
          : classifyError(error);
        if (failure.kind === 'permanent') {
          throw new TranscriptionFailure(`${name} could not be transcribed: ${failure.message}`, 'permanent');
        }
        if (attempt >= this.maxAttempts) {
          throw new TranscriptionFailure(
            `${name} could not be transcribed after ${attempt} attempts: ${failure.message}`,
            'permanent',
          );
        }
        const delay = retryDelayMs(failure, attempt, this.retryPolicy);
        this.logger.warn(
          `${name} of session=${String(job.sessionId)} question=${job.questionId}: attempt ${attempt} failed, retrying in ${delay} ms: ${failure.message}`,
        );
        await sleep(delay, undefined, { signal }).catch(() => {
          throw signal.reason;
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
  };
}
