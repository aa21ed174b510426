import type { Pause, SpeechDetector, SpeechMeasure } from './speech-measure.js';
import { MIN_PAUSE_SECONDS } from './speech-measure.js';
import type { WebRtcVad } from './webrtc-vad.js';

/** The detector works on 16 kHz mono PCM, in frames of 30 ms (one of the WebRTC VAD's sizes). */
export const SAMPLE_RATE = 16_000;
const FRAME_SAMPLES = 480;
const FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE;

/** The settings the detector runs with (speech-measure.ts says what each means). */
export type DetectorSettings = Omit<SpeechDetector, 'name'>;

export const DEFAULT_DETECTOR: DetectorSettings = {
  mode: 3,
  high_pass_hz: 200,
  level_gate_db: 14,
  noise_margin_db: 4,
  min_speech_seconds: 0.09,
  min_pause_seconds: MIN_PAUSE_SECONDS,
};

/** What the detector found: the measure stored on the answer, and the stretches of speech. */
export interface VoiceActivity {
  measure: SpeechMeasure;
  segments: Pause[];
  /** Everything that is not speech, leading and trailing silence included: where a recording may be cut. */
  silences: Pause[];
}

/** Frames are kept compactly (a byte and a float each: about 1.8 MB for three hours). */
const BLOCK_FRAMES = 8192;

/**
 * A two-pole high-pass (RBJ biquad, Butterworth Q), run twice: rumble and brown noise carry their
 * energy below speech's formants, where the WebRTC VAD would take it for voicing.
 */
class HighPass {
  private readonly b0: number;
  private readonly b1: number;
  private readonly b2: number;
  private readonly a1: number;
  private readonly a2: number;
  private readonly state = new Float64Array(8);

  constructor(cutoffHz: number) {
    const w = (2 * Math.PI * cutoffHz) / SAMPLE_RATE;
    const alpha = Math.sin(w) / (2 * Math.SQRT1_2);
    const a0 = 1 + alpha;
    this.b0 = (1 + Math.cos(w)) / 2 / a0;
    this.b1 = -(1 + Math.cos(w)) / a0;
    this.b2 = this.b0;
    this.a1 = (-2 * Math.cos(w)) / a0;
    this.a2 = (1 - alpha) / a0;
  }

  /** Filters `input` into `output` (both `FRAME_SAMPLES` long), keeping state across frames. */
  run(input: Int16Array, output: Int16Array): number {
    const s = this.state;
    let energy = 0;
    for (let i = 0; i < input.length; i++) {
      let x = input[i];
      for (let stage = 0; stage < 2; stage++) {
        const o = stage * 4;
        const y = this.b0 * x + this.b1 * s[o] + this.b2 * s[o + 1] - this.a1 * s[o + 2] - this.a2 * s[o + 3];
        s[o + 1] = s[o];
        s[o] = x;
        s[o + 3] = s[o + 2];
        s[o + 2] = y;
        x = y;
      }
      const clipped = x > 32767 ? 32767 : x < -32768 ? -32768 : Math.round(x);
      output[i] = clipped;
      energy += x * x;
    }
    return energy / input.length;
  }
}

const centi = (t: number) => Math.round(t * 100) / 100;

/** The p-th quantile (0..1) of `values` (sorted in place). */
function quantile(values: Float32Array, p: number): number {
  if (values.length === 0) return -Infinity;
  values.sort();
  return values[Math.min(values.length - 1, Math.floor(p * values.length))];
}

/**
 * Listens to a recording as 16 kHz mono PCM pushed in any slices, and says where the speech is.
 * Each 30 ms frame is high-passed and judged by the WebRTC VAD; at the end, voiced frames are kept
 * only if they stand above the room's noise floor and within reach of the recording's loudest
 * speech (a quieter voice in the room is not the candidate), short bursts are dropped, and gaps
 * between words shorter than a pause are bridged. Memory grows by about 10 bytes per second.
 */
export class VoiceActivityDetector {
  private readonly filter: HighPass;
  private readonly pending = new Int16Array(FRAME_SAMPLES);
  private readonly filtered = new Int16Array(FRAME_SAMPLES);
  private pendingCount = 0;
  private samples = 0;
  private frames = 0;
  private readonly voiced: Uint8Array[] = [];
  private readonly levels: Float32Array[] = [];

  constructor(
    private readonly vad: WebRtcVad,
    readonly settings: DetectorSettings = DEFAULT_DETECTOR,
  ) {
    this.filter = new HighPass(settings.high_pass_hz);
  }

  /** Adds samples (16 kHz mono, signed 16-bit). */
  push(samples: Int16Array): void {
    this.samples += samples.length;
    let at = 0;
    while (at < samples.length) {
      const take = Math.min(FRAME_SAMPLES - this.pendingCount, samples.length - at);
      this.pending.set(samples.subarray(at, at + take), this.pendingCount);
      this.pendingCount += take;
      at += take;
      if (this.pendingCount === FRAME_SAMPLES) {
        this.frame();
        this.pendingCount = 0;
      }
    }
  }

  private frame(): void {
    const power = this.filter.run(this.pending, this.filtered);
    const block = Math.floor(this.frames / BLOCK_FRAMES);
    if (block === this.voiced.length) {
      this.voiced.push(new Uint8Array(BLOCK_FRAMES));
      this.levels.push(new Float32Array(BLOCK_FRAMES));
    }
    const index = this.frames % BLOCK_FRAMES;
    this.voiced[block][index] = this.vad.isSpeech(this.filtered) ? 1 : 0;
    // dBFS of the filtered frame; digital silence is far below anything heard
    this.levels[block][index] = power > 0 ? 10 * Math.log10(power / (32768 * 32768)) : -200;
    this.frames++;
  }

  /** Frees the WebRTC VAD's state; the detector cannot be pushed to afterwards. */
  dispose(): void {
    this.vad.dispose();
  }

  /** The speech found, once every sample has been pushed. */
  finish(): VoiceActivity {
    const duration = this.samples / SAMPLE_RATE;
    if (this.pendingCount > 0) {
      // the last few milliseconds, padded with silence to a whole frame: the end of a word counts
      this.pending.fill(0, this.pendingCount);
      this.pendingCount = 0;
      this.frame();
    }
    const level = (i: number) => this.levels[Math.floor(i / BLOCK_FRAMES)][i % BLOCK_FRAMES];
    const isVoiced = (i: number) => this.voiced[Math.floor(i / BLOCK_FRAMES)][i % BLOCK_FRAMES] === 1;

    // how loud the candidate's speech gets: a voiced frame far below it is someone else in the room
    let voicedCount = 0;
    for (let i = 0; i < this.frames; i++) if (isVoiced(i)) voicedCount++;
    const voicedLevels = new Float32Array(voicedCount);
    for (let i = 0, v = 0; i < this.frames; i++) if (isVoiced(i)) voicedLevels[v++] = level(i);
    const loudest = quantile(voicedLevels, 0.95);
    const gate = loudest - this.settings.level_gate_db;
    // the room: the level the quietest tenth of the recording stays under (its pauses and gaps)
    const all = new Float32Array(this.frames);
    for (let i = 0; i < this.frames; i++) all[i] = level(i);
    const threshold = Math.max(quantile(all, 0.1) + this.settings.noise_margin_db, gate);

    // runs of speech frames, as [start, end) frame indices
    const runs: Array<[number, number]> = [];
    let open = -1;
    for (let i = 0; i <= this.frames; i++) {
      const speech = i < this.frames && isVoiced(i) && level(i) >= threshold;
      if (speech && open < 0) open = i;
      if (!speech && open >= 0) {
        runs.push([open, i]);
        open = -1;
      }
    }
    // gaps between words are speaking; then a burst too short to be a word is dropped
    const merged: Array<[number, number]> = [];
    for (const run of runs) {
      const last = merged.at(-1);
      // (in centiseconds, as stored: a gap stored as 0.24 s is no pause of at least 0.25 s)
      if (last && centi((run[0] - last[1]) * FRAME_SECONDS) < this.settings.min_pause_seconds) last[1] = run[1];
      else merged.push([run[0], run[1]]);
    }
    const shortest = this.settings.min_speech_seconds / FRAME_SECONDS;
    const segments = merged
      .filter(([a, b]) => b - a > shortest)
      .map(([a, b]) => ({ start: centi(a * FRAME_SECONDS), end: centi(Math.min(duration, b * FRAME_SECONDS)) }));

    const pauses = segments.slice(1).map((s, i) => ({ start: segments[i].end, end: s.start }));
    const silences: Pause[] = [];
    let cursor = 0;
    for (const s of segments) {
      if (s.start > cursor) silences.push({ start: cursor, end: s.start });
      cursor = s.end;
    }
    if (duration - cursor > 0.01) silences.push({ start: cursor, end: centi(duration) });
    const spoken = segments.reduce((sum, s) => sum + (s.end - s.start), 0);
    return {
      measure: { duration_seconds: centi(duration), speech_seconds: centi(spoken), pauses },
      segments,
      silences,
    };
  }
}
