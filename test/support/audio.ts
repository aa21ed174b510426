import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

function wavHeader(dataBytes: number, sampleRate: number, channels = 1, bitsPerSample = 16): Buffer {
  const header = Buffer.alloc(44);
  const blockAlign = (channels * bitsPerSample) / 8;
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * blockAlign, 28);
  header.writeUInt16LE(blockAlign, 32);
  header.writeUInt16LE(bitsPerSample, 34);
  header.write('data', 36);
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

/** The formants of an open vowel ("ah"): centre and bandwidth, Hz. */
const FORMANTS: Array<[number, number]> = [
  [700, 130],
  [1220, 70],
  [2600, 160],
];

/**
 * A sung vowel: the harmonics of a voice at `pitch` Hz shaped by the formants of "ah", with a
 * little vibrato and a syllable-rate swell. A pure sine is no voice to a voice-activity detector;
 * this is, and it is cheap and exact to make, so tests that need "an answer" need no speech synthesiser.
 */
function vowelSample(t: number, pitch: number): number {
  const table = vowelPeriod(pitch);
  const cycles = pitch * (t + (0.03 / (2 * Math.PI * 5)) * (1 - Math.cos(2 * Math.PI * 5 * t)));
  const at = (cycles - Math.floor(cycles)) * VOWEL_TABLE;
  return table[Math.floor(at)] * (0.6 + 0.4 * Math.sin(2 * Math.PI * 3.5 * t));
}

/** One period of the vowel at each pitch, computed once (hours of test audio stay cheap to make). */
const VOWEL_TABLE = 4096;
const vowelPeriods = new Map<number, Float32Array>();
function vowelPeriod(pitch: number): Float32Array {
  let table = vowelPeriods.get(pitch);
  if (table) return table;
  const harmonics: Array<[number, number]> = [];
  let norm = 0;
  for (let h = 1; h * pitch < 7_500 && h <= 40; h++) {
    let amplitude = 0;
    for (const [centre, width] of FORMANTS) amplitude += 1 / (1 + ((h * pitch - centre) / width) ** 2);
    amplitude /= Math.sqrt(h);
    harmonics.push([h, amplitude]);
    norm += amplitude;
  }
  table = new Float32Array(VOWEL_TABLE);
  for (let i = 0; i < VOWEL_TABLE; i++) {
    let value = 0;
    for (const [h, amplitude] of harmonics) value += amplitude * Math.sin((2 * Math.PI * h * i) / VOWEL_TABLE);
    table[i] = value / norm;
  }
  vowelPeriods.set(pitch, table);
  return table;
}

/**
 * A real 16-bit mono PCM WAV of a voice holding a vowel ("ah", wavTone's "tone"): `frequency` picks
 * the pitch (from 100 to 260 Hz), so different frequencies give different bytes and voices.
 */
export function wavTone(seconds = 0.25, frequency = 440, sampleRate = 16_000): Buffer {
  const samples = Math.round(seconds * sampleRate);
  const pitch = 100 + (Math.abs(Math.round(frequency * 7.3)) % 1600) / 10;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    data.writeInt16LE(Math.round(vowelSample(i / sampleRate, pitch) * 14_000), i * 2);
  }
  return Buffer.concat([wavHeader(data.length, sampleRate), data]);
}

/**
 * A WAV of `totalBytes` generated on the fly, chunk by chunk, so that a test can send hundreds of
 * megabytes without holding them.
 */
export function streamingWav(totalBytes: number, chunkBytes = 256 * 1024): Readable {
  const header = wavHeader(totalBytes - 44, 44_100, 2);
  const pattern = Buffer.alloc(chunkBytes);
  for (let i = 0; i < chunkBytes; i += 2) pattern.writeInt16LE(((i * 7919) % 20_000) - 10_000, i);
  let sent = 0;
  return new Readable({
    read() {
      if (sent === 0) {
        this.push(header);
        sent = header.length;
        return;
      }
      const remaining = totalBytes - sent;
      if (remaining <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(remaining, chunkBytes);
      sent += n;
      this.push(n === chunkBytes ? pattern : pattern.subarray(0, n));
    },
  });
}

/**
 * Bytes [start, start + length) of what streamingWav(totalBytes) sends, generated on the fly: a
 * resumable upload sends a large recording piece by piece.
 */
export function streamingWavSlice(
  totalBytes: number,
  start: number,
  length: number,
  chunkBytes = 256 * 1024,
): Readable {
  const header = wavHeader(totalBytes - 44, 44_100, 2);
  const pattern = Buffer.alloc(chunkBytes);
  for (let i = 0; i < chunkBytes; i += 2) pattern.writeInt16LE(((i * 7919) % 20_000) - 10_000, i);
  const end = start + length;
  let at = start;
  return new Readable({
    read() {
      if (at >= end) {
        this.push(null);
        return;
      }
      if (at < 44) {
        const piece = header.subarray(at, Math.min(44, end));
        at += piece.length;
        this.push(piece);
        return;
      }
      const from = (at - 44) % chunkBytes;
      const piece = pattern.subarray(from, Math.min(chunkBytes, from + (end - at)));
      at += piece.length;
      this.push(piece);
    },
  });
}

let workDir: string | undefined;

/** An ID3v2.4 tag header declaring `size` bytes of tag (four 7-bit bytes): what an mp3 may begin with. */
export function id3TagHeader(size: number): Buffer {
  return Buffer.from([
    0x49,
    0x44,
    0x33,
    4,
    0,
    0,
    (size >> 21) & 0x7f,
    (size >> 14) & 0x7f,
    (size >> 7) & 0x7f,
    size & 0x7f,
  ]);
}

/** The same tone encoded by ffmpeg into a browser recording format (ffmpeg from Debian). */
export function encodedTone(format: 'webm' | 'ogg' | 'mp3' | 'm4a' | 'flac', frequency = 330): Buffer {
  workDir ??= mkdtempSync(join(tmpdir(), 'vi-audio-'));
  const source = join(workDir, `tone-${frequency}.wav`);
  writeFileSync(source, wavTone(0.5, frequency));
  const out = join(workDir, `tone-${frequency}.${format}`);
  const codec = {
    webm: ['-c:a', 'libopus'],
    ogg: ['-c:a', 'libopus'],
    mp3: ['-c:a', 'libmp3lame'],
    m4a: ['-c:a', 'aac'],
    flac: ['-c:a', 'flac'],
  }[format];
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', source, ...codec, out]);
  return readFileSync(out);
}

/** Lengths (seconds) of the "utterances" and pauses of speechLikeWav, cycled through. */
const UTTERANCES = [4.2, 6.8, 3.1, 8.4, 5.5, 2.6, 7.3];
const PAUSES = [0.9, 1.6, 0.7, 2.2, 1.1];

/**
 * A 16-bit WAV of `seconds` (44.1 kHz stereo unless told), generated chunk by chunk: sung vowels a
 * few seconds long (a rough stand-in for speech, heard as voice by the speech detector) separated
 * by silent pauses, so that a splitter looking for pauses finds some. About 10.6 MB per minute at
 * 44.1 kHz stereo, 1.9 MB at 16 kHz mono; never held in memory.
 */
export function speechLikeWav(seconds: number, sampleRate = 44_100, channels: 1 | 2 = 2): Readable {
  const frameBytes = channels * 2;
  const frames = Math.round(seconds * sampleRate);
  const header = wavHeader(frames * frameBytes, sampleRate, channels);
  const framesPerChunk = 16_384;
  let frame = 0;
  let turn = 0;
  let stretchEnd = Math.round(UTTERANCES[0] * sampleRate);
  let speaking = true;
  let sentHeader = false;
  return new Readable({
    read() {
      if (!sentHeader) {
        sentHeader = true;
        this.push(header);
        return;
      }
      if (frame >= frames) {
        this.push(null);
        return;
      }
      const n = Math.min(framesPerChunk, frames - frame);
      const chunk = Buffer.alloc(n * frameBytes);
      for (let i = 0; i < n; i++, frame++) {
        if (frame >= stretchEnd) {
          speaking = !speaking;
          if (speaking) turn++;
          const length = speaking ? UTTERANCES[turn % UTTERANCES.length] : PAUSES[turn % PAUSES.length];
          stretchEnd = frame + Math.round(length * sampleRate);
        }
        if (!speaking) continue;
        const t = frame / sampleRate;
        const sample = Math.round(vowelSample(t, 120 + (turn % 5) * 20) * 9_000);
        for (let c = 0; c < channels; c++) chunk.writeInt16LE(sample, i * frameBytes + c * 2);
      }
      this.push(chunk);
    },
  });
}

/** Bytes of speechLikeWav(seconds, sampleRate, channels). */
export const speechLikeWavBytes = (seconds: number, sampleRate = 44_100, channels: 1 | 2 = 2) =>
  44 + Math.round(seconds * sampleRate) * channels * 2;

/** Runs sox (or espeak-ng) into a fresh WAV in the work directory and returns its bytes. */
function made(name: string, command: string, args: (out: string) => string[]): Buffer {
  workDir ??= mkdtempSync(join(tmpdir(), 'vi-audio-'));
  const out = join(workDir, name);
  execFileSync(command, args(out));
  return readFileSync(out);
}

/** Digital silence from sox: 16 kHz mono WAV. */
export const soxSilence = (seconds: number) =>
  made(`silence-${seconds}.wav`, 'sox', (out) => [
    '-n',
    '-r',
    '16000',
    '-c',
    '1',
    '-b',
    '16',
    out,
    'trim',
    '0',
    `${seconds}`,
  ]);

/** Low pink noise from sox (peaks near -40 dBFS, RMS near -53 dBFS): a quiet room, nobody speaking. */
export const soxLowNoise = (seconds: number) =>
  made(`noise-${seconds}.wav`, 'sox', (out) => [
    '-n',
    '-r',
    '16000',
    '-c',
    '1',
    '-b',
    '16',
    out,
    'synth',
    `${seconds}`,
    'pinknoise',
    'vol',
    '0.01',
  ]);

/**
 * espeak-ng saying each phrase, with `pauseSeconds` of silence before, between and after them
 * (16 kHz mono WAV): speech with long pauses.
 */
export function spokenWithPauses(phrases: string[], pauseSeconds: number): Buffer {
  const parts = phrases.map((phrase, i) =>
    made(`phrase-${i}-${phrase.length}.wav`, 'sh', (out) => [
      '-c',
      `espeak-ng -s 160 --stdout "$1" | sox -t wav - -r 16000 -c 1 -b 16 "$2"`,
      'sh',
      phrase,
      out,
    ]),
  );
  workDir ??= mkdtempSync(join(tmpdir(), 'vi-audio-'));
  const gap = soxSilence(pauseSeconds);
  const files = parts.map((part, i) => {
    const file = join(workDir!, `part-${i}.wav`);
    writeFileSync(file, part);
    return file;
  });
  const gapFile = join(workDir, 'gap.wav');
  writeFileSync(gapFile, gap);
  const sequence = [gapFile, ...files.flatMap((f) => [f, gapFile])];
  return made(`spoken-${phrases.join('').length}-${pauseSeconds}.wav`, 'sox', (out) => [...sequence, out]);
}

/**
 * espeak-ng saying each phrase at `wordsPerMinute` (its `-s`), each trimmed of espeak's own
 * leading and trailing silence, joined by the given gaps of sox silence and `edgeSeconds` of silence
 * before and after (16 kHz mono WAV). `speakingSeconds` is the phrases' own length: the ground
 * truth a pace measure is held to (espeak's `-s` is not an exact words-per-minute figure).
 */
export function spokenAtRate(
  phrases: string[],
  wordsPerMinute: number,
  gapSeconds: number[],
  edgeSeconds = 0.5,
): { wav: Buffer; speakingSeconds: number; words: number } {
  workDir ??= mkdtempSync(join(tmpdir(), 'vi-audio-'));
  const files = phrases.map((phrase, i) => {
    const file = join(workDir!, `rate-${wordsPerMinute}-${i}.wav`);
    execFileSync('sh', [
      '-c',
      `espeak-ng -s "$1" --stdout "$2" | sox -t wav - -r 16000 -c 1 -b 16 "$3" silence 1 0.01 -50d reverse silence 1 0.01 -50d reverse`,
      'sh',
      String(wordsPerMinute),
      phrase,
      file,
    ]);
    return file;
  });
  const silence = (seconds: number) => {
    const file = join(workDir!, `gap-${seconds}.wav`);
    writeFileSync(file, soxSilence(seconds));
    return file;
  };
  const edge = silence(edgeSeconds);
  const sequence = [
    edge,
    ...files.flatMap((f, i) => (i < gapSeconds.length ? [f, silence(gapSeconds[i])] : [f])),
    edge,
  ];
  const wav = made(`rate-${wordsPerMinute}-${gapSeconds.join('-')}.wav`, 'sox', (out) => [...sequence, out]);
  // 16-bit mono at 16 kHz: 32 000 bytes a second after the 44-byte header sox writes
  const speakingSeconds = files.reduce((sum, f) => sum + (readFileSync(f).length - 44) / 32_000, 0);
  const words = phrases.join(' ').split(/\s+/).filter(Boolean).length;
  return { wav, speakingSeconds, words };
}

/**
 * speechLikeWav's first `speechSeconds` (16 kHz mono), `silentSeconds` of digital silence, and the
 * same speech again, as WebM/Opus at 32 kbit/s: an answer with a long silence in its middle.
 */
export async function speechAroundSilenceWebm(speechSeconds: number, silentSeconds: number): Promise<Buffer> {
  workDir ??= mkdtempSync(join(tmpdir(), 'vi-audio-'));
  const speech = join(workDir, `speech-${speechSeconds}-16k.wav`);
  writeFileSync(speech, Buffer.concat(await speechLikeWav(speechSeconds, 16_000, 1).toArray()));
  const out = join(workDir, `around-silence-${speechSeconds}-${silentSeconds}.webm`);
  execFileSync('ffmpeg', [
    ...['-loglevel', 'error', '-y', '-i', speech],
    ...['-f', 'lavfi', '-t', String(silentSeconds), '-i', 'anullsrc=r=16000:cl=mono', '-i', speech],
    ...['-filter_complex', '[0:a][1:a][2:a]concat=n=3:v=0:a=1'],
    ...['-ac', '1', '-c:a', 'libopus', '-b:a', '32k', out],
  ]);
  return readFileSync(out);
}

/** speechLikeWebm's recordings made in this process, by length and options: each is made once. */
const webmMade = new Map<string, Promise<Buffer>>();

export interface SpeechLikeWebmOptions {
  /** The WAV piped into ffmpeg: 44.1 kHz stereo unless told (16 kHz mono: a fifth of the samples to make). */
  sampleRate?: number;
  channels?: 1 | 2;
  /**
   * libopus's rate control: 'on' (its default, as the other tests' recordings are made) codes the
   * sung vowels at about 42 kbit/s; 'constrained' keeps them near 32 kbit/s, the size a browser's
   * recording of speech at 32 kbit/s comes to (an hour: about 14.4 MB).
   */
  vbr?: 'on' | 'constrained';
}

/**
 * speechLikeWav as a browser records it: WebM/Opus at 32 kbit/s, mono (what the web app's
 * MediaRecorder makes), encoded by ffmpeg; made once per length and options in this process, kept
 * in the work directory. The WAV is piped into ffmpeg as it is generated, never written out: an
 * hour of it at 44.1 kHz stereo would be 635 MB.
 */
export function speechLikeWebm(seconds: number, options: SpeechLikeWebmOptions = {}): Promise<Buffer> {
  const { sampleRate = 44_100, channels = 2, vbr = 'on' } = options;
  const name = `speechlike-${seconds}-${sampleRate}-${channels}-${vbr}.webm`;
  let made = webmMade.get(name);
  if (!made) {
    made = encodeSpeechLike(name, speechLikeWav(seconds, sampleRate, channels), ['-vbr', vbr]);
    webmMade.set(name, made);
    made.catch(() => webmMade.delete(name));
  }
  return made;
}

async function encodeSpeechLike(name: string, wav: Readable, opusArgs: string[]): Promise<Buffer> {
  workDir ??= mkdtempSync(join(tmpdir(), 'vi-audio-'));
  const out = join(workDir, name);
  const ffmpeg = spawn(
    'ffmpeg',
    [
      ...['-loglevel', 'error', '-y', '-f', 'wav', '-i', 'pipe:0'],
      ...['-ac', '1', '-c:a', 'libopus', '-b:a', '32k', ...opusArgs, out],
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  ffmpeg.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    ffmpeg.once('error', reject);
    ffmpeg.once('close', resolve);
  });
  await pipeline(wav, ffmpeg.stdin);
  const code = await exited;
  if (code !== 0) throw new Error(`ffmpeg could not encode ${name} (exit ${code}): ${stderr}`);
  return readFileSync(out);
}
