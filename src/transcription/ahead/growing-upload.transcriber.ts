import { Inject, Injectable, Logger } from '@nestjs/common';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ResumableUploadDocuments } from '../../audio/resumable-upload.documents.js';
import type { ResumableUpload } from '../../audio/resumable-upload.schema.js';
import { TranscriptsAheadDocuments, type TranscriptAhead } from '../../audio/transcripts-ahead.documents.js';
import { untilStored } from '../../common/backoff.js';
import { transcriptionSettings, type TranscriptionSettings } from '../../config/settings.js';
import type { AnswerPiece } from '../../interview-record/answer-queue-state.schema.js';
import { SessionDocuments } from '../../interview-record/session-documents.js';
import { AudioTools } from '../recording/audio-tools.js';
import type { InterviewHints } from '../recording/transcription-task.js';
import { createWorkDirectory, removeWorkDirectory } from '../recording/work-directory.js';
import type { Pause } from '../speech/speech-measure.js';
import { SpeechMeter } from '../speech/speech-meter.js';
import { SAMPLE_RATE } from '../speech/voice-activity.js';
import { interviewKeywords } from '../transcribers/interview-hints.js';
import { clock, PieceSender } from '../transcribers/piece-sender.js';
import { aheadCuts, speechWithin } from './ahead-cuts.js';

/** No look before this many new bytes: a PATCH a second of a recording at 32 kbit/s brings 4 KB. */
const MIN_NEW_BYTES = 16 * 1024;
/**
 * Each look decodes the upload from its start, so a long answer is looked at less often: once this
 * share of what is transcribed is new (and at least TRANSCRIPTION_AHEAD_SECONDS). A one-hour answer
 * is then decoded some 40 times in all (about 10 hours of audio) instead of 180 (30 hours), and at
 * most a tenth of it is left for the end.
 */
const LOOK_GROWTH = 0.1;
/**
 * Audio denser than this (384 kbit/s; uncompressed PCM above 16 kHz mono, say) is not transcribed
 * ahead: each look reads the upload again from its start, and a recorder's compressed formats stay
 * far below it (the web app's Opus: 32 kbit/s).
 */
const MAX_BYTES_PER_SECOND = 48_000;

/** How far a growing upload reached at the last look, and how much of it is transcribed. */
export interface AheadProgress {
  lookedAtBytes: number;
  lookedAtSeconds: number;
  covered: number;
  stopped: boolean;
}

export const progressOf = (doc: TranscriptAhead): AheadProgress => ({
  lookedAtBytes: doc.looked_at_bytes,
  lookedAtSeconds: doc.looked_at_seconds,
  covered: doc.pieces.at(-1)?.end_seconds ?? 0,
  stopped: doc.stopped,
});

/**
 * Transcribes a resumable upload while it grows (a recording streamed as it is made): decodes what
 * it holds (from the start: a recording being made has no index to seek by) into the speech
 * detector and Opus from the end of what is transcribed, cuts that at pauses (ahead-cuts.ts) and
 * sends each piece, one at a time, storing each transcript before the next. The answer's
 * transcription takes the pieces over (LargeRecordingTranscriber) and sends only the rest. A piece
 * without speech is kept without a provider call. Nothing is sent once the upload is complete or
 * gone: the piece about to be sent is recorded as `working` first and the upload read after, so the
 * answer's transcription, which starts only once the upload is complete, sees every piece sent ahead.
 */
@Injectable()
export class GrowingUploadTranscriber {
  private readonly logger = new Logger('TranscriptionWorker');

  constructor(
    private readonly uploads: ResumableUploadDocuments,
    private readonly ahead: TranscriptsAheadDocuments,
    private readonly sessions: SessionDocuments,
    private readonly tools: AudioTools,
    private readonly speech: SpeechMeter,
    private readonly sender: PieceSender,
    @Inject(transcriptionSettings.KEY) private readonly settings: TranscriptionSettings,
  ) {}

  /** Whether an upload of `offset` bytes may have enough new audio for a piece (a guess from the bytes). */
  due(progress: AheadProgress, offset: number): boolean {
    if (progress.stopped || offset - progress.lookedAtBytes < MIN_NEW_BYTES) return false;
    if (progress.lookedAtSeconds < 1) return true;
    const heard =
      progress.lookedAtSeconds +
      (offset - progress.lookedAtBytes) * (progress.lookedAtSeconds / progress.lookedAtBytes);
    return heard - progress.covered >= Math.max(this.settings.ahead.seconds, progress.covered * LOOK_GROWTH);
  }

  /**
   * Looks at the upload as the holder `token` of its document, as long as it keeps growing enough
   * for a piece; the progress it leaves.
   */
  async look(doc: TranscriptAhead, token: string, signal: AbortSignal): Promise<AheadProgress> {
    let progress = progressOf(doc);
    let pieces = doc.pieces.length;
    for (;;) {
      const upload = await this.uploads.get(doc._id);
      if (!upload) {
        // completed (its answer takes the pieces over) or removed (the removal took them, or the cleanup will)
        if (pieces === 0) await this.ahead.remove(doc._id);
        return { ...progress, stopped: true };
      }
      if (upload.complete || !upload.format || !this.due(progress, upload.offset) || signal.aborted) return progress;
      const dir = await createWorkDirectory();
      try {
        const heard = await this.decode(upload, progress.covered, dir, signal);
        const dense = heard.to >= 1 && upload.offset / heard.to > MAX_BYTES_PER_SECOND;
        progress = { ...progress, lookedAtBytes: upload.offset, lookedAtSeconds: heard.to, stopped: dense };
        const change = { looked_at_bytes: upload.offset, looked_at_seconds: heard.to, stopped: dense };
        if (!(await this.ahead.record(doc._id, token, change)) || dense) return progress;
        const cuts = aheadCuts(progress.covered, heard.to, heard.silences, {
          aheadSeconds: this.settings.ahead.seconds,
          maxSeconds: this.settings.pieceSeconds,
        });
        if (cuts.length === 0) continue;
        const piecesDir = join(dir, 'pieces');
        await mkdir(piecesDir);
        const files = await this.tools.split(
          heard.ogg,
          cuts.map((c) => c - progress.covered),
          piecesDir,
          signal,
        );
        const hints = this.sender.hintsFor(await this.hints(upload));
        let start = progress.covered;
        for (const [i, end] of cuts.entries()) {
          const piece = await this.send(
            upload,
            token,
            { start, end, index: pieces, file: files[i] },
            heard.silences,
            hints,
            signal,
          );
          if (piece === 'stop') return progress;
          if (piece === 'stopped') return { ...progress, stopped: true };
          pieces++;
          start = end;
          progress = { ...progress, covered: end };
        }
      } finally {
        await removeWorkDirectory(dir);
      }
    }
  }

  /** One piece, recorded as `working` first; 'stop' when the upload completed or went, or the document was lost. */
  private async send(
    upload: ResumableUpload,
    token: string,
    at: { start: number; end: number; index: number; file: string },
    silences: Pause[],
    hints: ReturnType<PieceSender['hintsFor']>,
    signal: AbortSignal,
  ): Promise<AnswerPiece | 'stop' | 'stopped'> {
    const id = upload._id;
    const stretch = { start_seconds: at.start, end_seconds: at.end };
    if (!(await this.ahead.record(id, token, { working: stretch }))) return 'stop';
    const now = await this.uploads.head(id);
    if (!now || now.complete) {
      await this.ahead.record(id, token, { working: null });
      return 'stop';
    }
    const of = `upload=${id.toHexString()} question=${upload.question_id}`;
    const name = `Piece ${at.index + 1} (${clock(at.start)}–${clock(at.end)}, while uploading)`;
    let piece: AnswerPiece;
    const guard = this.settings.speechGuard;
    if (guard.enabled && speechWithin(at.start, at.end, silences) < guard.minSpeechSeconds) {
      piece = { ...stretch, done: true, text: '', language: null, segments: [] };
    } else {
      try {
        const result = await this.sender.send(
          { file: at.file, questionId: upload.question_id, index: at.index, name, of },
          hints,
          signal,
        );
        piece = {
          ...stretch,
          done: true,
          text: result.text,
          language: result.language,
          segments: result.segments,
          ...(result.withoutHints ? { without_hints: true } : {}),
        };
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        // the answer's own transcription sends this piece and the rest, and says why if it fails too
        this.logger.warn(`${name} of ${of}: ${(error as Error).message}; no more pieces of it are sent ahead`);
        await this.ahead.record(id, token, { working: null, stopped: true });
        return 'stopped';
      }
    }
    // paid for: its write is retried (a lost document stops it)
    const kept = await untilStored(
      () => this.ahead.addPiece(id, token, piece),
      signal,
      (error, attempt, delay) =>
        this.logger.warn(
          `could not keep ${name} of ${of} (try ${attempt}): ${error.message}; trying again in ${delay} ms`,
        ),
    );
    if (kept === undefined) throw signal.reason;
    this.logger.log(`${name} of ${of} transcribed`);
    return kept ? piece : 'stop';
  }

  /**
   * The upload's bytes so far (its chunks, then the tail its document holds) through one ffmpeg
   * decode: Opus and the speech detector from `from` on. Where the audio heard ends, and its silences.
   */
  private async decode(upload: ResumableUpload, from: number, dir: string, signal: AbortSignal) {
    const ogg = join(dir, 'ahead.ogg');
    const uploads = this.uploads;
    const bytes = Readable.from(
      (async function* () {
        yield* uploads.storedChunks(upload._id, upload.next_n);
        if (upload.tail.buffer.length > 0) yield upload.tail.buffer;
      })(),
      { objectMode: false },
    );
    const detector = this.speech.detector();
    let samples = 0;
    try {
      await this.tools.compress(
        'pipe:0',
        upload.format!.extension,
        ogg,
        signal,
        (pcm) => {
          samples += pcm.length;
          detector.push(pcm);
        },
        { oggFromSeconds: from, pcmFromSeconds: from, stdin: bytes },
      );
      const silences = detector.finish().silences.map((s) => ({ start: s.start + from, end: s.end + from }));
      return { to: from + samples / SAMPLE_RATE, silences, ogg };
    } finally {
      detector.dispose();
      bytes.destroy();
    }
  }

  private async hints(upload: ResumableUpload): Promise<InterviewHints> {
    const session = await this.sessions.model
      .findById(upload.session_id, { language: 1, languages: 1, questions: 1 })
      .lean()
      .exec();
    const question = session?.questions.find((q) => q.question_id === upload.question_id);
    return {
      keywords: question ? interviewKeywords(question) : [],
      language: session?.language ?? null,
      languages: session?.languages ?? [],
    };
  }
}
