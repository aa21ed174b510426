import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A labelled corpus for the speech detector, made on the spot (never downloaded): espeak-ng speaks
 * phrases at several rates and voices, sox trims them to their sound, joins them with known pauses,
 * sets the speaker's level and mixes pink, brown or white noise or a babble of other espeak voices
 * at a known SNR; ffmpeg encodes some as mp3, webm/opus and m4a. Truth comes from how each file
 * was made: where each phrase starts and ends.
 */

export interface Stretch {
  start: number;
  end: number;
}

export type NoiseKind = 'pink' | 'brown' | 'white' | 'babble';

export interface CorpusRecording {
  name: string;
  file: string;
  format: 'wav' | 'mp3' | 'webm' | 'm4a';
  /** false for noise-only and silence-only recordings. */
  speech: boolean;
  /** Where the phrases are (empty without speech). */
  phrases: Stretch[];
  /** The silences between phrases. */
  pauses: Stretch[];
  speechSeconds: number;
  durationSeconds: number;
  noise?: NoiseKind;
  snrDb?: number;
  /** RMS of the speech (dBFS, over the phrases only). */
  speechRmsDb?: number;
}

const RATE = 16_000;

function sox(...args: string[]): void {
  execFileSync('sox', ['-V1', ...args]);
}

function soxStat(file: string, key: 'RMS lev dB' | 'Pk lev dB'): number {
  // sox prints its statistics on stderr
  const { stderr } = spawnSync('sox', [file, '-n', 'stats'], { encoding: 'utf8' });
  const line = stderr.split('\n').find((l) => l.startsWith(key));
  if (!line) throw new Error(`sox stats gave no ${key} for ${file}`);
  return Number(line.trim().split(/\s+/).pop());
}

function seconds(file: string): number {
  return Number(execFileSync('soxi', ['-D', file], { encoding: 'utf8' }).trim());
}

const PHRASES = [
  'I would start by asking the team what problem the service has to solve.',
  'Then I measured the queue and found that most requests waited on the database.',
  'We moved the slow reports to a background worker and the pages got fast again.',
  'The hardest part was agreeing on what done meant for everyone involved.',
  'In the end the customer kept the feature and asked for two more like it.',
  'I learned to write the test first when the behaviour is hard to see.',
];

const BABBLE = [
  'Did you see the match last night, it went on for hours.',
  'Could you pass me the report when you have a minute please.',
  'The train was late again so I walked the last part of the way.',
  'We are out of coffee and the machine on the third floor is broken.',
];

export interface Speaker {
  voice: string;
  /** espeak-ng words per minute. */
  wpm: number;
}

export const SPEAKERS: Speaker[] = [
  { voice: 'en-us', wpm: 175 },
  { voice: 'en+f3', wpm: 140 },
  { voice: 'en-gb', wpm: 210 },
];

/** The corpus's working directory and its cache of made files. */
export class SpeechCorpus {
  readonly dir: string;
  private counter = 0;

  constructor(dir?: string) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'vi-speech-corpus-'));
    mkdirSync(this.dir, { recursive: true });
  }

  private path(name: string): string {
    return join(this.dir, `${name}-${this.counter++}.wav`);
  }

  /** One phrase spoken, at 16 kHz mono, trimmed to its sound at both ends. */
  phrase(text: string, speaker: Speaker): string {
    const raw = this.path('raw');
    execFileSync('espeak-ng', ['-v', speaker.voice, '-s', String(speaker.wpm), '-w', raw, text]);
    const out = this.path('phrase');
    sox(
      raw,
      '-r',
      String(RATE),
      '-c',
      '1',
      '-b',
      '16',
      out,
      'silence',
      '1',
      '0.01',
      '0.1%',
      'reverse',
      'silence',
      '1',
      '0.01',
      '0.1%',
      'reverse',
    );
    return out;
  }

  silence(duration: number): string {
    const out = this.path('silence');
    sox('-n', '-r', String(RATE), '-c', '1', '-b', '16', out, 'trim', '0', duration.toFixed(3));
    return out;
  }

  /**
   * Phrases joined by `pauses` (one fewer than phrases), with `lead` seconds of silence before and
   * after, the speech set to `rmsDb` (over the phrases only). Returns the file and where the phrases are.
   */
  spoken(
    texts: string[],
    speaker: Speaker,
    pauses: number[],
    rmsDb: number,
    lead = 0.7,
  ): { file: string; phrases: Stretch[] } {
    const phraseFiles = texts.map((t) => this.phrase(t, speaker));
    const phrasesOnly = this.path('joined');
    sox(...phraseFiles, phrasesOnly);
    const gain = rmsDb - soxStat(phrasesOnly, 'RMS lev dB');
    const parts: string[] = [this.silence(lead)];
    const phrases: Stretch[] = [];
    let at = lead;
    phraseFiles.forEach((file, i) => {
      const length = seconds(file);
      phrases.push({ start: at, end: at + length });
      at += length;
      parts.push(file);
      if (i < pauses.length) {
        parts.push(this.silence(pauses[i]));
        at += pauses[i];
      }
    });
    parts.push(this.silence(lead));
    const out = this.path('spoken');
    sox(...parts, out, 'gain', gain.toFixed(2));
    return { file: out, phrases };
  }

  /** `duration` seconds of noise of `kind` whose RMS is `rmsDb`. */
  noise(kind: NoiseKind, duration: number, rmsDb: number): string {
    const raw = this.path(`noise-${kind}`);
    if (kind === 'babble') {
      // four other voices, each speaking on a loop from its own offset, summed
      const voices = BABBLE.map((text, i) => {
        const spoken = this.phrase(text, { voice: ['en-us+m3', 'en+f2', 'en-gb+m5', 'en+f4'][i], wpm: 150 + i * 15 });
        const looped = this.path('loop');
        const repeats = Math.ceil(duration / Math.max(0.5, seconds(spoken))) + 1;
        sox(
          spoken,
          looped,
          'pad',
          (0.3 * i).toFixed(2),
          '0.2',
          'repeat',
          String(repeats),
          'trim',
          '0',
          duration.toFixed(3),
        );
        return looped;
      });
      sox('-m', ...voices.flatMap((v) => ['-v', '1', v]), raw);
    } else {
      sox('-n', '-r', String(RATE), '-c', '1', '-b', '16', raw, 'synth', duration.toFixed(3), `${kind}noise`);
    }
    const out = this.path(`noise-${kind}-set`);
    sox(raw, out, 'gain', (rmsDb - soxStat(raw, 'RMS lev dB')).toFixed(2));
    return out;
  }

  /** `speech` with `kind` noise at `snrDb` below the speech's RMS, over the whole recording. */
  mixed(speech: string, speechRmsDb: number, kind: NoiseKind, snrDb: number): string {
    const noise = this.noise(kind, seconds(speech), speechRmsDb - snrDb);
    const out = this.path(`mixed-${kind}-${snrDb}`);
    sox('-m', '-v', '1', speech, '-v', '1', noise, out);
    return out;
  }

  /** Noise alone whose peak is `peakDb`. */
  noiseOnly(kind: Exclude<NoiseKind, 'babble'>, duration: number, peakDb: number): string {
    const out = this.path(`only-${kind}`);
    sox(
      '-n',
      '-r',
      String(RATE),
      '-c',
      '1',
      '-b',
      '16',
      out,
      'synth',
      duration.toFixed(3),
      `${kind}noise`,
      'gain',
      '-n',
      String(peakDb),
    );
    return out;
  }

  /** The file encoded by ffmpeg as a browser or phone would send it. */
  encoded(file: string, format: 'mp3' | 'webm' | 'm4a'): string {
    const out = file.replace(/\.wav$/, `.${format}`);
    const codec = {
      mp3: ['-c:a', 'libmp3lame', '-b:a', '64k'],
      webm: ['-c:a', 'libopus', '-b:a', '32k'],
      m4a: ['-c:a', 'aac', '-b:a', '64k'],
    }[format];
    if (!existsSync(out)) execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', file, ...codec, out]);
    return out;
  }
}

/** The pauses the speakers make, cycled through: 0.5 to 3 s. */
const PAUSE_SETS = [
  [1.0, 2.4],
  [0.5, 3.0],
  [1.5, 1.2],
];

export const SNRS = [20, 15, 10];
export const NOISES: NoiseKind[] = ['pink', 'brown', 'white', 'babble'];

/**
 * The whole corpus: three speakers, each clean at an ordinary level, quiet (-35 dBFS RMS), and in
 * each noise at each SNR; noise-only and silence-only recordings up to -20 dBFS peak; and mp3,
 * webm/opus and m4a encodings of the 15 dB recordings of the first speaker.
 */
export function makeCorpus(corpus = new SpeechCorpus()): CorpusRecording[] {
  const recordings: CorpusRecording[] = [];
  const level = -26;
  SPEAKERS.forEach((speaker, s) => {
    const texts = [
      PHRASES[(2 * s) % PHRASES.length],
      PHRASES[(2 * s + 1) % PHRASES.length],
      PHRASES[(2 * s + 2) % PHRASES.length],
    ];
    const pauses = PAUSE_SETS[s];
    const base = corpus.spoken(texts, speaker, pauses, level);
    const quiet = corpus.spoken(texts, speaker, pauses, -35);
    const truth = (file: string, extra: Partial<CorpusRecording>, name: string): CorpusRecording => ({
      name,
      file,
      format: 'wav',
      speech: true,
      phrases: base.phrases,
      pauses: base.phrases.slice(1).map((p, i) => ({ start: base.phrases[i].end, end: p.start })),
      speechSeconds: base.phrases.reduce((sum, p) => sum + p.end - p.start, 0),
      durationSeconds: seconds(file),
      speechRmsDb: level,
      ...extra,
    });
    recordings.push(truth(base.file, {}, `${speaker.voice} ${speaker.wpm} wpm, clean`));
    recordings.push(
      truth(quiet.file, { speechRmsDb: -35 }, `${speaker.voice} ${speaker.wpm} wpm, quiet (-35 dBFS RMS)`),
    );
    for (const noise of NOISES) {
      for (const snr of SNRS) {
        const file = corpus.mixed(base.file, level, noise, snr);
        const recording = truth(
          file,
          { noise, snrDb: snr },
          `${speaker.voice} ${speaker.wpm} wpm, ${noise} at ${snr} dB`,
        );
        recordings.push(recording);
        if (s === 0 && snr === 15) {
          for (const format of ['mp3', 'webm', 'm4a'] as const) {
            recordings.push({
              ...recording,
              name: `${recording.name}, ${format}`,
              file: corpus.encoded(file, format),
              format,
            });
          }
        }
      }
    }
  });
  const none = (file: string, name: string): CorpusRecording => ({
    name,
    file,
    format: 'wav',
    speech: false,
    phrases: [],
    pauses: [],
    speechSeconds: 0,
    durationSeconds: seconds(file),
  });
  for (const kind of ['pink', 'brown', 'white'] as const) {
    for (const peak of [-20, -30, -45])
      recordings.push(none(corpus.noiseOnly(kind, 6, peak), `${kind} noise only, peak ${peak} dBFS`));
  }
  recordings.push(none(corpus.silence(5), 'digital silence'));
  const pinkOnly = recordings.find((r) => r.name === 'pink noise only, peak -20 dBFS')!;
  for (const format of ['mp3', 'webm', 'm4a'] as const) {
    recordings.push({
      ...pinkOnly,
      name: `${pinkOnly.name}, ${format}`,
      file: corpus.encoded(pinkOnly.file, format),
      format,
    });
  }
  return recordings;
}
