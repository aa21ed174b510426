import { Inject, Injectable, Logger } from '@nestjs/common';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AnswerAudioStore } from '../../audio/answer-audio.store.js';
import { untilStored } from '../../common/backoff.js';
import { transcriptionSettings, type TranscriptionSettings } from '../../config/settings.js';
import type { AnswerPiece } from '../../interview-record/answer-queue-state.schema.js';
import { ClaimProgress } from '../queue/claim-progress.js';
import { TranscriptionFailure } from '../recording/retry-policy.js';
import { SpeechMeter } from '../speech/speech-meter.js';
import { AudioTools } from '../recording/audio-tools.js';
import { joinPieces, planPieces } from './piece-plan.js';
import { clock, PieceSender, type PieceHints } from './piece-sender.js';
import type { RecordingTranscriber } from './recording-transcriber.js';
import { ClaimLost, type TranscriptionTask } from '../recording/transcription-task.js';
import { TranscriptionProvider, type TranscriptionResult } from './transcription-provider.js';
import type { Pause } from '../speech/speech-measure.js';
import { SAMPLE_RATE } from '../speech/voice-activity.js';
import { sameStretch, type Stretch } from '../../audio/transcripts-ahead.documents.js';
import { verifiedAudio } from '../recording/verified-audio.js';
import { createWorkDirectory, removeWorkDirectory } from '../recording/work-directory.js';

/**
 * What a resumable upload had transcribed when it completed (the pieces, in answer form, back to
 * back from 0 s), and the piece then being sent, which `awaitWorking` waits for: its transcript, or
 * null when that send ended without one (then it is sent here).
 */
export interface PiecesAhead {
  pieces: AnswerPiece[];
  working: Stretch | null;
  awaitWorking(signal: AbortSignal): Promise<AnswerPiece | null>;
}

/**
 * Transcribes a recording in pieces: one over the provider's size limit, or one whose first pieces
 * were transcribed while it was uploaded (PiecesAhead). Copies it from GridFS to a temporary file
 * (checking its SHA-256 on the way), re-encodes it to mono 16 kHz Opus (from the end of the pieces
 * sent ahead) while the speech detector hears the same decode (all of it), cuts that at the pauses
 * it found into pieces the provider accepts, and transcribes the pieces a few at a time. Each
 * finished piece is stored on the answer at once, so a failed piece is retried alone and a
 * restarted job only sends the pieces still missing.
 */
@Injectable()
export class LargeRecordingTranscriber implements RecordingTranscriber {
  private readonly logger = new Logger(LargeRecordingTranscriber.name);

  constructor(
    private readonly audio: AnswerAudioStore,
    private readonly progress: ClaimProgress,
    private readonly provider: TranscriptionProvider,
    private readonly sender: PieceSender,
    private readonly tools: AudioTools,
    private readonly speech: SpeechMeter,
    @Inject(transcriptionSettings.KEY) private readonly settings: TranscriptionSettings,
  ) {}

  /**
   * With `ahead` (pieces of a resumable upload transcribed while it grew), those pieces stand and
   * only the rest of the recording is compressed, cut and sent; the piece being sent ahead when the
   * upload completed is awaited rather than paid for again.
   */
  async transcribe(job: TranscriptionTask, signal: AbortSignal, ahead?: PiecesAhead): Promise<TranscriptionResult> {
    if (!(await this.tools.available())) throw new TranscriptionFailure(AudioTools.MISSING, 'permanent');
    this.provider.assertConfigured();
    const dir = await createWorkDirectory();
    try {
      const format = /^[a-z0-9]{1,10}$/.test(job.answer.audio.format) ? job.answer.audio.format : 'bin';
      const source = join(dir, `source.${format}`);
      await this.download(job, source, signal);
      // an answer that recorded its own pieces (a retry) resumes them; otherwise those sent ahead stand
      const known = job.answer.pieces?.length ? [] : aheadPieces(ahead);
      const oggFrom = known.length ? (known.find((p) => !p.done)?.start_seconds ?? known.at(-1)!.end_seconds) : 0;
      const compressed = join(dir, 'compressed.ogg');
      // the speech detector hears the same decode that compresses (from 0: it measures the whole answer)
      const detector = this.speech.detector();
      let heard: ReturnType<SpeechMeter['judge']>;
      let samples = 0;
      try {
        await this.tools.compress(
          source,
          job.answer.audio.format,
          compressed,
          signal,
          (pcm) => {
            samples += pcm.length;
            detector.push(pcm);
          },
          { oggFromSeconds: oggFrom },
        );
        heard = this.speech.judge(detector);
      } finally {
        detector.dispose();
      }
      await rm(source);
      const { reading, silences } = heard;
      const duration = known.length
        ? samples / SAMPLE_RATE
        : await this.tools.durationSeconds(compressed, 'ogg', signal);
      if (reading?.noSpeech) return { text: '', language: null, duration_seconds: null, segments: null, reading };
      const compressedBytes = (await stat(compressed)).size;

      let pieces = job.answer.pieces ?? [];
      const resumable = pieces.length > 0 && Math.abs(pieces.at(-1)!.end_seconds - duration) < 1;
      if (!resumable) {
        pieces = [...known, ...this.plan(known.at(-1)?.end_seconds ?? 0, duration, oggFrom, compressedBytes, silences)];
        if (!(await this.progress.recordPieces(job.sessionId, job.questionId, job.claimId, pieces, 0))) {
          throw new ClaimLost();
        }
      }
      this.logger.log(
        `session=${String(job.sessionId)} question=${job.questionId}: ${job.answer.audio.size_bytes} bytes → ${compressedBytes} bytes of Opus` +
          (oggFrom > 0 ? ` from ${oggFrom.toFixed(1)} s` : '') +
          `, ${duration.toFixed(1)} s in ${pieces.length} piece(s)` +
          (resumable || known.length ? `, ${pieces.filter((p) => p.done).length} already transcribed` : ''),
      );

      // the compressed file starts at `oggFrom`: it holds the pieces from there on
      const first = pieces.findIndex((p) => p.start_seconds >= oggFrom - 0.001);
      const piecesDir = join(dir, 'pieces');
      await mkdir(piecesDir);
      const split =
        first < 0
          ? []
          : await this.tools.split(
              compressed,
              pieces.slice(first + 1).map((p) => p.start_seconds - oggFrom),
              piecesDir,
              signal,
            );
      await rm(compressed);
      const files = pieces.map((_, index) => (index >= first ? split[index - first] : ''));
      const working = ahead?.working && known.length ? pieces.findIndex((p) => sameStretch(p, ahead.working!)) : -1;
      await this.transcribePieces(job, pieces, files, signal, working >= 0 ? { index: working, ahead: ahead! } : null);
      return { ...joinPieces(pieces, duration), reading };
    } finally {
      await removeWorkDirectory(dir);
    }
  }

  /** Pieces for the recording from `from` to its end (the compressed file starts at `oggFrom`). */
  private plan(from: number, duration: number, oggFrom: number, compressedBytes: number, silences: Pause[]) {
    if (duration - from < 0.05) return [];
    const restBytes = (compressedBytes * (duration - from)) / Math.max(0.001, duration - oggFrom);
    const shifted = silences
      .filter((s) => s.end > from)
      .map((s) => ({ start: Math.max(0, s.start - from), end: s.end - from }));
    const ms = (t: number) => Math.round(t * 1000) / 1000;
    return planPieces(duration - from, restBytes, shifted, {
      maxBytes: this.settings.maxFileBytes,
      maxSeconds: this.settings.pieceSeconds,
    }).map((p) => ({
      start_seconds: ms(p.start_seconds + from),
      end_seconds: ms(p.end_seconds + from),
      done: false,
      text: null,
      language: null,
      segments: null,
    }));
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

  /**
   * Sends the pieces not yet transcribed, at most TRANSCRIPTION_PIECE_CONCURRENCY at a time; the
   * piece still being sent ahead (`awaited`) is waited for, and sent here only if that send ends
   * without a transcript.
   */
  private async transcribePieces(
    job: TranscriptionTask,
    pieces: AnswerPiece[],
    files: string[],
    signal: AbortSignal,
    awaited: { index: number; ahead: PiecesAhead } | null,
  ): Promise<void> {
    const pending = pieces.flatMap((p, index) => (p.done ? [] : [index]));
    let done = pieces.length - pending.length;
    const stopOthers = new AbortController();
    // once the provider refused the hints, the pieces still to send go without them
    const hints: PieceHints = this.sender.hintsFor(job.hints);
    const of = `session=${String(job.sessionId)} question=${job.questionId}`;
    let next = 0;
    const lane = async () => {
      while (next < pending.length && !signal.aborted && !stopOthers.signal.aborted) {
        const index = pending[next++];
        const piece = pieces[index];
        const name = `Piece ${index + 1} of ${pieces.length} (${clock(piece.start_seconds)}–${clock(piece.end_seconds)})`;
        const sentAhead = index === awaited?.index ? await awaited.ahead.awaitWorking(signal) : null;
        const result = sentAhead
          ? { ...sentAhead, withoutHints: sentAhead.without_hints }
          : await this.sender.send(
              { file: files[index], questionId: job.questionId, index, name, of },
              hints,
              signal,
              stopOthers.signal,
            );
        pieces[index] = {
          ...piece,
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
              `could not keep piece ${index + 1} of ${of} (try ${attempt}): ${error.message}; trying again in ${delay} ms`,
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
}

/** The pieces sent ahead, in the answer's shape: the transcribed ones, then the one being sent. */
function aheadPieces(ahead: PiecesAhead | undefined): AnswerPiece[] {
  if (!ahead) return [];
  const working = ahead.working ? [{ ...ahead.working, done: false, text: null, language: null, segments: null }] : [];
  return [...ahead.pieces.map((p) => ({ ...p, done: true })), ...working];
}
