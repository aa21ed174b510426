import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { AnswerAudioStore } from '../../audio/answer-audio.store.js';
import { transcriptionSettings, type TranscriptionSettings } from '../../config/settings.js';
import type { TranscriptionTask } from '../recording/transcription-task.js';
import { TranscriptionFailure } from '../recording/retry-policy.js';
import { verifiedAudio } from '../recording/verified-audio.js';
import { AudioTools, inputArgs } from '../recording/audio-tools.js';
import { measureSpeech, MIN_PAUSE_SECONDS, type Pause, type SpeechMeasure } from './speech-measure.js';

/** What listening to a recording found. */
export interface SpeechReading {
  speech: SpeechMeasure;
  /** Less speech than TRANSCRIPTION_MIN_SPEECH_MS: no answer to transcribe. */
  noSpeech: boolean;
}

/**
 * Listens to an answer's stored audio before the provider hears it: one ffmpeg pass (decode,
 * silencedetect, discard) over the stream from GridFS, whose SHA-256 is checked on the way. Off
 * when TRANSCRIPTION_SPEECH_GUARD=false or ffmpeg cannot be run (said once, at start-up).
 */
@Injectable()
export class SpeechMeter implements OnApplicationBootstrap {
  private readonly logger = new Logger(SpeechMeter.name);
  private readonly guard: TranscriptionSettings['speechGuard'];

  constructor(
    private readonly audio: AnswerAudioStore,
    private readonly tools: AudioTools,
    @Inject(transcriptionSettings.KEY) settings: TranscriptionSettings,
  ) {
    this.guard = settings.speechGuard;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.guard.enabled) return this.logger.log('the speech guard is off (TRANSCRIPTION_SPEECH_GUARD=false)');
    if (!(await this.tools.available())) {
      this.logger.warn(
        `the speech guard is off: ffmpeg (FFMPEG_PATH=${this.tools.ffmpegPath}) cannot be run, so every recording goes to the provider, silent ones included`,
      );
    }
  }

  /** The silence the guard listens for, for a transcriber that measures on its own pass; undefined when off. */
  get silence(): { noiseDb: number; minSeconds: number } | undefined {
    return this.guard.enabled ? { noiseDb: this.guard.silenceDb, minSeconds: MIN_PAUSE_SECONDS } : undefined;
  }

  /** The reading of silences a transcriber found on its own pass; null when the guard is off. */
  judge(silences: Pause[], durationSeconds: number): SpeechReading | null {
    if (!this.guard.enabled) return null;
    const speech = measureSpeech(silences, durationSeconds);
    return { speech, noSpeech: speech.speech_seconds < this.guard.minSpeechSeconds };
  }

  /**
   * The speech in the task's recording; null when the guard is off or ffmpeg could not read the
   * recording (it then goes to the provider as it is). Throws the integrity failure, or the abort.
   */
  async read(task: TranscriptionTask, signal: AbortSignal): Promise<SpeechReading | null> {
    if (!this.guard.enabled || !(await this.tools.available())) return null;
    try {
      const speech = await this.listen(task, signal);
      return { speech, noSpeech: speech.speech_seconds < this.guard.minSpeechSeconds };
    } catch (error) {
      if (signal.aborted || error instanceof TranscriptionFailure) throw error;
      this.logger.warn(
        `could not measure the speech in ${String(task.sessionId)}/${task.questionId}: ${(error as Error).message}; transcribing it unmeasured`,
      );
      return null;
    }
  }

  private async listen(task: TranscriptionTask, signal: AbortSignal): Promise<SpeechMeasure> {
    const silences: Pause[] = [];
    let open: number | undefined;
    let duration = 0;
    const tail: string[] = [];
    const child = spawn(
      this.tools.ffmpegPath,
      [
        // the detected container, read from the pipe only (ffmpeg never guesses its input)
        ...['-hide_banner', '-nostdin', '-nostats', ...inputArgs('pipe:0', task.answer.audio.format), '-vn'],
        ...['-af', `silencedetect=noise=${this.guard.silenceDb}dB:d=${MIN_PAUSE_SECONDS}`],
        ...['-f', 'null', '-', '-progress', 'pipe:1'],
      ],
      { stdio: ['pipe', 'pipe', 'pipe'], signal, killSignal: 'SIGKILL' },
    );
    createInterface({ input: child.stderr }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 3) tail.shift();
      const began = /silence_start: (-?[\d.]+)/.exec(line);
      if (began) open = Math.max(0, Number(began[1]));
      const ended = /silence_end: ([\d.]+)/.exec(line);
      if (ended && open !== undefined) {
        silences.push({ start: open, end: Number(ended[1]) });
        open = undefined;
      }
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const time = /^out_time_us=(\d+)$/.exec(line);
      if (time) duration = Number(time[1]) / 1e6;
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    const stored = this.audio.openDownload(task.fileId);
    const checked = verifiedAudio(stored, task.answer.audio);
    // ffmpeg closing its input early (unreadable audio) is reported by its exit code
    const fed = pipeline(stored, checked.stream, child.stdin).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return false;
        child.kill('SIGKILL');
        throw error;
      },
    );
    const [complete, code] = await Promise.all([fed, exited]);
    if (code !== 0) throw new Error(`ffmpeg exit ${code}: ${tail.join(' | ').slice(0, 300)}`);
    if (!complete) throw new Error('ffmpeg stopped reading the recording before its end');
    checked.verify();
    if (open !== undefined) silences.push({ start: open, end: duration });
    return measureSpeech(silences, duration);
  }
}
