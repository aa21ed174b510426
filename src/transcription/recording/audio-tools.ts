import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { transcriptionSettings, type TranscriptionSettings } from '../../config/settings.js';
import { TranscriptionFailure } from './retry-policy.js';

/** A stretch of silence in a recording, in seconds from its start. */
export interface Silence {
  start: number;
  end: number;
}

/** Lines of ffmpeg's stderr kept for an error message (never the whole log). */
const STDERR_TAIL_LINES = 5;

/** Opus at this rate keeps speech intelligible at about 11 MB per hour. */
const OPUS_BITRATE = '24k';

/** Quieter than this for at least SILENCE_MIN_SECONDS counts as a pause where a piece may end. */
const SILENCE_NOISE_DB = -35;
const SILENCE_MIN_SECONDS = 0.4;

/** ffmpeg's demuxer for each container the upload check accepts (AudioFormat.extension). */
const DEMUXERS: Record<string, string> = {
  webm: 'matroska',
  ogg: 'ogg',
  mp3: 'mp3',
  m4a: 'mov',
  mp4: 'mov',
  wav: 'wav',
  flac: 'flac',
};

/**
 * How every input is opened: as the container the upload check detected (ffmpeg must not guess,
 * or a file could be read as a playlist or a concat list) and through the local file protocol
 * only (no http, no other files named inside the input).
 */
export function inputArgs(file: string, format: string): string[] {
  const demuxer = DEMUXERS[format];
  if (!demuxer) throw new TranscriptionFailure(`Recordings stored as "${format}" cannot be processed.`, 'permanent');
  return ['-protocol_whitelist', 'file,pipe', '-f', demuxer, '-i', file];
}

/**
 * ffmpeg and ffprobe, run as child processes that read and write files: audio never passes through
 * this process's memory. Only recordings over the provider's size limit need them.
 */
@Injectable()
export class AudioTools implements OnApplicationBootstrap {
  private readonly logger = new Logger(AudioTools.name);
  readonly ffmpegPath: string;
  readonly ffprobePath: string;
  /** Whether the last check could run both. */
  private usable = false;

  constructor(@Inject(transcriptionSettings.KEY) settings: TranscriptionSettings) {
    this.ffmpegPath = settings.ffmpegPath;
    const dir = dirname(this.ffmpegPath);
    this.ffprobePath =
      settings.ffprobePath ??
      (this.ffmpegPath.includes('/')
        ? join(dir, this.ffmpegPath.endsWith('.exe') ? 'ffprobe.exe' : 'ffprobe')
        : 'ffprobe');
  }

  /** Says once, at start-up, when large recordings cannot be transcribed. */
  async onApplicationBootstrap(): Promise<void> {
    const [ffmpeg, ffprobe] = await Promise.all([this.version(this.ffmpegPath), this.version(this.ffprobePath)]);
    this.usable = ffmpeg !== undefined && ffprobe !== undefined;
    if (this.usable) {
      this.logger.log(`ffmpeg ${ffmpeg} at ${this.ffmpegPath}, ffprobe at ${this.ffprobePath}`);
      return;
    }
    const missing = [ffmpeg === undefined ? `ffmpeg (FFMPEG_PATH=${this.ffmpegPath})` : undefined]
      .concat(ffprobe === undefined ? `ffprobe (FFPROBE_PATH=${this.ffprobePath})` : undefined)
      .filter(Boolean)
      .join(' and ');
    this.logger.warn(
      `${missing} cannot be run: recordings over TRANSCRIPTION_MAX_FILE_BYTES will fail to transcribe until ffmpeg is installed; smaller ones are not affected.`,
    );
  }

  /** The sentence a long answer fails with when ffmpeg is missing. */
  static readonly MISSING =
    'This recording is larger than the transcription provider accepts and must be compressed first, which needs ffmpeg; ' +
    'install ffmpeg (or set FFMPEG_PATH), then retry the answer.';

  /**
   * Whether ffmpeg and ffprobe can be run. Once found they are trusted; while missing they are
   * looked for again each time, so that installing ffmpeg and retrying the answer needs no restart.
   */
  async available(): Promise<boolean> {
    if (this.usable) return true;
    const [ffmpeg, ffprobe] = await Promise.all([this.version(this.ffmpegPath), this.version(this.ffprobePath)]);
    this.usable = ffmpeg !== undefined && ffprobe !== undefined;
    return this.usable;
  }

  private version(command: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      let out = '';
      const child = spawn(command, ['-version'], { stdio: ['ignore', 'pipe', 'ignore'] });
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('error', () => resolve(undefined));
      child.once('close', (code) =>
        resolve(code === 0 ? (/version (\S+)/.exec(out)?.[1] ?? 'unknown version') : undefined),
      );
    });
  }

  /** Duration of an audio file in seconds. */
  async durationSeconds(file: string, format: string, signal: AbortSignal): Promise<number> {
    let out = '';
    await this.run(
      this.ffprobePath,
      ['-v', 'error', ...inputArgs(file, format), '-show_entries', 'format=duration', '-of', 'csv=p=0'],
      signal,
      (line) => (out += line),
      'stdout',
    );
    const seconds = Number(out.trim());
    if (!Number.isFinite(seconds) || seconds <= 0) {
      throw new TranscriptionFailure('The recording could not be read as audio (no duration).', 'permanent');
    }
    return seconds;
  }

  /**
   * Re-encodes any audio ffmpeg can read to mono 16 kHz Opus in Ogg, and reports the silences it
   * heard on the way (one pass over the input); `silence` is the speech guard's threshold when it is on.
   */
  async compress(
    input: string,
    format: string,
    output: string,
    signal: AbortSignal,
    silence = { noiseDb: SILENCE_NOISE_DB, minSeconds: SILENCE_MIN_SECONDS },
  ): Promise<Silence[]> {
    const silences: Silence[] = [];
    let start: number | undefined;
    await this.run(
      this.ffmpegPath,
      [
        ...['-hide_banner', '-nostdin', '-nostats', '-y', ...inputArgs(input, format), '-vn', '-map', '0:a:0'],
        ...['-af', `silencedetect=noise=${silence.noiseDb}dB:d=${silence.minSeconds}`],
        ...['-ac', '1', '-ar', '16000', '-c:a', 'libopus', '-b:a', OPUS_BITRATE, '-application', 'voip'],
        ...['-f', 'ogg', output],
      ],
      signal,
      (line) => {
        const began = /silence_start: (-?[\d.]+)/.exec(line);
        if (began) start = Math.max(0, Number(began[1]));
        const ended = /silence_end: ([\d.]+)/.exec(line);
        if (ended && start !== undefined) {
          silences.push({ start, end: Number(ended[1]) });
          start = undefined;
        }
      },
    );
    return silences;
  }

  /**
   * Cuts an Ogg Opus file at `cuts` (seconds) without re-encoding, into `dir`/piece-NNN.ogg.
   * Returns the pieces' paths in order.
   */
  async split(input: string, cuts: number[], dir: string, signal: AbortSignal): Promise<string[]> {
    // the input is compress()'s own Ogg output
    const args = [
      '-hide_banner',
      '-nostdin',
      '-nostats',
      '-y',
      ...inputArgs(input, 'ogg'),
      '-map',
      '0:a:0',
      '-c',
      'copy',
    ];
    if (cuts.length > 0) {
      args.push('-f', 'segment', '-segment_times', cuts.map((t) => t.toFixed(3)).join(','));
      args.push('-segment_format', 'ogg', '-reset_timestamps', '1', join(dir, 'piece-%03d.ogg'));
    } else {
      args.push('-f', 'ogg', join(dir, 'piece-000.ogg'));
    }
    await this.run(this.ffmpegPath, args, signal, () => undefined);
    const pieces = (await readdir(dir)).filter((name) => /^piece-\d{3}\.ogg$/.test(name)).sort();
    if (pieces.length !== cuts.length + 1) {
      throw new TranscriptionFailure(
        `Splitting the recording gave ${pieces.length} pieces instead of ${cuts.length + 1}.`,
        'permanent',
      );
    }
    return pieces.map((name) => join(dir, name));
  }

  /** Runs a tool to completion, feeding `onLine` each line of its stderr (or stdout). */
  private run(
    command: string,
    args: string[],
    signal: AbortSignal,
    onLine: (line: string) => void,
    lines: 'stderr' | 'stdout' = 'stderr',
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], signal, killSignal: 'SIGKILL' });
      const tail: string[] = [];
      createInterface({ input: child.stderr }).on('line', (line) => {
        tail.push(line);
        if (tail.length > STDERR_TAIL_LINES) tail.shift();
        if (lines === 'stderr') onLine(line);
      });
      createInterface({ input: child.stdout }).on('line', (line) => lines === 'stdout' && onLine(line));
      child.once('error', (error: NodeJS.ErrnoException) => {
        if (signal.aborted) return reject(signal.reason as Error);
        if (error.code === 'ENOENT' || error.code === 'EACCES') {
          return reject(new TranscriptionFailure(AudioTools.MISSING, 'permanent'));
        }
        reject(error);
      });
      child.once('close', (code) => {
        if (signal.aborted) return reject(signal.reason as Error);
        if (code === 0) return resolve();
        const name = command.split('/').pop();
        // ffmpeg's own lines name temporary paths: they go to the log, not to the user
        reject(
          new TranscriptionFailure(
            `${name} could not read the recording as audio; upload it again in another format.`,
            'permanent',
            undefined,
            `exit ${code}: ${tail.join(' | ').slice(0, 300)}`,
          ),
        );
      });
    });
  }
}
