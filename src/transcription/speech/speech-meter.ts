import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AnswerAudioStore } from '../../audio/answer-audio.store.js';
import { transcriptionSettings, type TranscriptionSettings } from '../../config/settings.js';
import type { TranscriptionTask } from '../recording/transcription-task.js';
import { TranscriptionFailure } from '../recording/retry-policy.js';
import { verifiedAudio } from '../recording/verified-audio.js';
import { AudioTools } from '../recording/audio-tools.js';
import type { Pause, SpeechMeasure } from './speech-measure.js';
import { DEFAULT_DETECTOR, VoiceActivityDetector, type VoiceActivity } from './voice-activity.js';
import { UnsupportedWav, WavPcmReader } from './wav-pcm.js';
import { WebRtcVadEngine } from './webrtc-vad.js';

/** What listening to a recording found. */
export interface SpeechReading {
  speech: SpeechMeasure;
  /** Less speech than TRANSCRIPTION_MIN_SPEECH_MS: no answer to transcribe. */
  noSpeech: boolean;
}

/** The detector's name and settings, stored with every measure it makes. */
export const DETECTOR_NAME = 'webrtc-vad';

/**
 * Listens to an answer's stored audio before the provider hears it: one decode of the stream from
 * GridFS (in this process for WAV, by ffmpeg for the other containers), whose SHA-256 is checked
 * on the way, into the voice-activity detector (voice-activity.ts). Off when
 * TRANSCRIPTION_SPEECH_GUARD=false; a recording ffmpeg cannot decode goes to the provider unmeasured.
 */
@Injectable()
export class SpeechMeter implements OnApplicationBootstrap {
  private readonly logger = new Logger(SpeechMeter.name);
  private readonly guard: TranscriptionSettings['speechGuard'];

  constructor(
    private readonly audio: AnswerAudioStore,
    private readonly tools: AudioTools,
    private readonly vad: WebRtcVadEngine,
    @Inject(transcriptionSettings.KEY) settings: TranscriptionSettings,
  ) {
    this.guard = settings.speechGuard;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.guard.enabled) return this.logger.log('the speech guard is off (TRANSCRIPTION_SPEECH_GUARD=false)');
    if (!(await this.tools.available())) {
      this.logger.warn(
        `ffmpeg (FFMPEG_PATH=${this.tools.ffmpegPath}) cannot be run: only WAV recordings are measured for speech; the others go to the provider unmeasured`,
      );
    }
  }

  /** A fresh detector, for a transcriber that decodes the audio on its own pass (a large recording). */
  detector(): VoiceActivityDetector {
    return new VoiceActivityDetector(this.vad.open(this.guard.vadMode), {
      ...DEFAULT_DETECTOR,
      mode: this.guard.vadMode,
    });
  }

  /** What a detector that heard a whole recording found; the speech reading is null when the guard is off. */
  judge(detector: VoiceActivityDetector): { reading: SpeechReading | null; silences: Pause[] } {
    const activity = detector.finish();
    return { reading: this.guard.enabled ? this.reading(activity, detector) : null, silences: activity.silences };
  }

  /**
   * The speech in the task's recording; null when the guard is off or the recording could not be
   * decoded (it then goes to the provider as it is). Throws the integrity failure, or the abort.
   */
  async read(task: TranscriptionTask, signal: AbortSignal): Promise<SpeechReading | null> {
    if (!this.guard.enabled) return null;
    const format = task.answer.audio.format;
    try {
      if (format === 'wav') {
        try {
          return await this.listenInProcess(task, signal);
        } catch (error) {
          if (!(error instanceof UnsupportedWav)) throw error;
          this.logger.debug(`${String(task.sessionId)}/${task.questionId}: ${error.message}; decoding with ffmpeg`);
        }
      }
      if (!(await this.tools.available())) return null;
      return await this.listenThroughFfmpeg(task, signal);
    } catch (error) {
      if (signal.aborted || error instanceof TranscriptionFailure) throw error;
      this.logger.warn(
        `could not measure the speech in ${String(task.sessionId)}/${task.questionId}: ${(error as Error).message}; transcribing it unmeasured`,
      );
      return null;
    }
  }

  private async listenInProcess(task: TranscriptionTask, signal: AbortSignal): Promise<SpeechReading> {
    return this.listen(task, async (detector, stored) => {
      const reader = new WavPcmReader((samples) => detector.push(samples));
      for await (const chunk of stored.stream as AsyncIterable<Buffer>) {
        if (signal.aborted) throw signal.reason;
        reader.write(chunk);
      }
      return true;
    });
  }

  private async listenThroughFfmpeg(task: TranscriptionTask, signal: AbortSignal): Promise<SpeechReading> {
    return this.listen(task, (detector, stored) =>
      this.tools.decode(stored.stream, task.answer.audio.format, signal, (samples) => detector.push(samples)),
    );
  }

  /** Streams the stored audio through `decode` into a detector; the SHA-256 is checked at the end. */
  private async listen(
    task: TranscriptionTask,
    decode: (detector: VoiceActivityDetector, stored: ReturnType<typeof verifiedAudio>) => Promise<boolean>,
  ): Promise<SpeechReading> {
    const source = this.audio.openDownload(task.fileId);
    const checked = verifiedAudio(source, task.answer.audio);
    source.on('error', (error: Error) => checked.stream.destroy(error));
    source.pipe(checked.stream);
    const detector = this.detector();
    try {
      const complete = await decode(detector, checked);
      if (!complete) throw new Error('ffmpeg stopped reading the recording before its end');
      checked.verify();
      return this.reading(detector.finish(), detector);
    } finally {
      detector.dispose();
      source.destroy();
      checked.stream.destroy();
    }
  }

  private reading(activity: VoiceActivity, detector: VoiceActivityDetector): SpeechReading {
    const speech = { ...activity.measure, detector: { name: DETECTOR_NAME, ...detector.settings } };
    return { speech, noSpeech: speech.speech_seconds < this.guard.minSpeechSeconds };
  }
}
