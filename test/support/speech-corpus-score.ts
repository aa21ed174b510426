import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import {
  VoiceActivityDetector,
  type DetectorSettings,
  DEFAULT_DETECTOR,
  type VoiceActivity,
} from '../../src/transcription/speech/voice-activity.js';
import { WavPcmReader } from '../../src/transcription/speech/wav-pcm.js';
import { WebRtcVadEngine } from '../../src/transcription/speech/webrtc-vad.js';
import type { CorpusRecording, Stretch } from './speech-corpus.js';

let engine: WebRtcVadEngine | undefined;

/** Decodes a corpus file as the service does (WAV in this process, the rest through ffmpeg) into a detector. */
export async function detect(
  recording: CorpusRecording,
  settings: DetectorSettings = DEFAULT_DETECTOR,
): Promise<VoiceActivity> {
  if (!engine) {
    engine = new WebRtcVadEngine();
    await engine.onModuleInit();
  }
  const detector = new VoiceActivityDetector(engine.open(settings.mode), settings);
  try {
    if (recording.format === 'wav') {
      const reader = new WavPcmReader((s) => detector.push(s));
      for await (const chunk of createReadStream(recording.file) as AsyncIterable<Buffer>) reader.write(chunk);
    } else {
      const child = spawn('ffmpeg', [
        '-loglevel',
        'error',
        '-i',
        recording.file,
        '-ac',
        '1',
        '-ar',
        '16000',
        '-f',
        's16le',
        'pipe:1',
      ]);
      let odd: Buffer | undefined;
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        const bytes = odd ? Buffer.concat([odd, chunk]) : chunk;
        const even = bytes.length - (bytes.length % 2);
        odd = even < bytes.length ? Buffer.from(bytes.subarray(even)) : undefined;
        detector.push(new Int16Array(Uint8Array.prototype.slice.call(bytes, 0, even).buffer));
      }
    }
    return detector.finish();
  } finally {
    detector.dispose();
  }
}

export interface PauseCheck {
  truth: Stretch;
  found?: Stretch;
  /** found length minus true length, seconds. */
  errorSeconds?: number;
}

export interface RecordingScore {
  recording: CorpusRecording;
  speechSeconds: number;
  /** Whether the detector found speech enough to transcribe (≥ 0.2 s, TRANSCRIPTION_MIN_SPEECH_MS). */
  heardSpeech: boolean;
  /** The true pauses of at least 1 s, each with the detected pause that overlaps it most. */
  pauses: PauseCheck[];
  /** Speaking time as the delivery view counts it (speech plus the gaps shorter than a 1 s pause). */
  speakingSeconds: number;
  truthSpeakingSeconds: number;
  /** Detected speaking time against the truth, as a share (0.05 = 5 % off). */
  speakingError: number;
}

const overlap = (a: Stretch, b: Stretch) => Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start));

/** The delivery view's speaking time: speech, with the gaps shorter than `pause` seconds counted as speaking. */
export function speakingTime(speech: number, gaps: Stretch[], pause = 1): number {
  return (
    speech +
    gaps
      .map((g) => g.end - g.start)
      .filter((g) => g < pause)
      .reduce((a, b) => a + b, 0)
  );
}

export function score(recording: CorpusRecording, activity: VoiceActivity, minSpeechSeconds = 0.2): RecordingScore {
  const found = activity.measure.pauses;
  const speaking = speakingTime(activity.measure.speech_seconds, found);
  const truthSpeaking = speakingTime(recording.speechSeconds, recording.pauses);
  const pauses = recording.pauses
    .filter((p) => p.end - p.start >= 1)
    .map((truth) => {
      const best = [...found].sort((a, b) => overlap(b, truth) - overlap(a, truth))[0];
      if (!best || overlap(best, truth) <= 0) return { truth };
      return { truth, found: best, errorSeconds: best.end - best.start - (truth.end - truth.start) };
    });
  return {
    recording,
    speechSeconds: activity.measure.speech_seconds,
    heardSpeech: activity.measure.speech_seconds >= minSpeechSeconds,
    pauses,
    speakingSeconds: speaking,
    truthSpeakingSeconds: truthSpeaking,
    speakingError: truthSpeaking > 0 ? speaking / truthSpeaking - 1 : 0,
  };
}
