import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { transcriptionSettings, type TranscriptionSettings } from '../../config/settings.js';
import { TranscriptionFailure } from './retry-policy.js';

/** Lines of ffmpeg's stderr kept for an error message (never the whole log). */
const STDERR_TAIL_LINES = 5;

/** Opus at this rate keeps speech intelligible at about 11 MB per hour. */
const OPUS_BITRATE = '24k';

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
      { onStdoutLine: (line) => (out += line) },
    );
    const seconds = Number(out.trim());
    if (!Number.isFinite(seconds) || seconds <= 0) {
      throw new TranscriptionFailure('The recording could not be read as audio (no duration).', 'permanent');
    }
    return seconds;
  }

  /**
   * Re-encodes any audio ffmpeg can read to mono 16 kHz Opus in Ogg, and hands the same decoded audio
   * to `onSamples` as 16 kHz mono PCM for the speech detector: one decode for both. `from` starts
   * either output later in the recording (the decode still runs from its start: a container being
   * recorded cannot be entered anywhere else), and `stdin` streams the input (then `input` is pipe:0).
   */
  async compress(
    input: string,
    format: string,
    output: string,
    signal: AbortSignal,
    onSamples: (samples: Int16Array) => void,
    options: { oggFromSeconds?: number; pcmFromSeconds?: number; stdin?: Readable } = {},
  ): Promise<void> {
    const from = (seconds?: number) => (seconds ? ['-ss', seconds.toFixed(3)] : []);
    await this.run(
      this.ffmpegPath,
      [
        ...['-hide_banner', '-nostdin', '-nostats', '-y', ...inputArgs(input, format), '-vn'],
        ...['-map', '0:a:0', '-ac', '1', '-ar', '16000', ...from(options.oggFromSeconds)],
        ...['-c:a', 'libopus', '-b:a', OPUS_BITRATE, '-application', 'voip'],
        ...['-f', 'ogg', output],
        ...['-map', '0:a:0', '-ac', '1', '-ar', '16000', ...from(options.pcmFromSeconds), '-f', 's16le', 'pipe:1'],
      ],
      signal,
      { onSamples, stdin: options.stdin },
    );
  }

  /**
   * Decodes a recording streamed to ffmpeg's input (the detected container, read from the pipe only)
   * into 16 kHz mono PCM for the speech detector, handed over as it comes with backpressure. False
   * when ffmpeg stopped reading before the end of the input (it could not make sense of the rest).
   */
  async decode(
    source: Readable,
    format: string,
    signal: AbortSignal,
    onSamples: (samples: Int16Array) => void,
  ): Promise<boolean> {
    return this.run(
      this.ffmpegPath,
      [
        ...['-hide_banner', '-nostdin', '-nostats', ...inputArgs('pipe:0', format), '-vn'],
        ...['-map', '0:a:0', '-ac', '1', '-ar', '16000', '-f', 's16le', 'pipe:1'],
      ],
      signal,
      { onSamples, stdin: source },
    );
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
    await this.run(this.ffmpegPath, args, signal, {});
    const pieces = (await readdir(dir)).filter((name) => /^piece-\d{3}\.ogg$/.test(name)).sort();
    if (pieces.length !== cuts.length + 1) {
      throw new TranscriptionFailure(
        `Splitting the recording gave ${pieces.length} pieces instead of ${cuts.length + 1}.`,
        'permanent',
      );
    }
    return pieces.map((name) => join(dir, name));
  }

  /**
   * Runs a tool to completion: `stdin` is piped to it (ffmpeg closing its input early is reported by
   * its exit code), its stdout is read as lines or as 16-bit PCM samples, and the last lines of its
   * stderr explain a failure in the log.
   */
  private async run(command: string, args: string[], signal: AbortSignal, io: ToolIo): Promise<boolean> {
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      signal,
      killSignal: 'SIGKILL',
    });
    const tail: string[] = [];
    createInterface({ input: child.stderr }).on('line', (line) => {
      tail.push(line);
      if (tail.length > STDERR_TAIL_LINES) tail.shift();
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) => {
        if (signal.aborted) return reject(signal.reason as Error);
        if (error.code === 'ENOENT' || error.code === 'EACCES') {
          return reject(new TranscriptionFailure(AudioTools.MISSING, 'permanent'));
        }
        reject(error);
      });
      child.once('close', resolve);
    });
    if (!io.stdin) child.stdin.end();
    const fed = io.stdin
      ? pipeline(io.stdin, child.stdin).then(
          () => true,
          (error: NodeJS.ErrnoException) => {
            if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return false;
            child.kill('SIGKILL');
            throw error;
          },
        )
      : Promise.resolve(true);
    const read = (async () => {
      if (io.onSamples) {
        let odd: Buffer | undefined;
        for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
          const bytes = odd ? Buffer.concat([odd, chunk]) : chunk;
          const even = bytes.length - (bytes.length % 2);
          odd = even < bytes.length ? Buffer.from(bytes.subarray(even)) : undefined;
          // a copy: the chunk's memory may not be aligned for 16-bit reads
          if (even > 0) io.onSamples(new Int16Array(Uint8Array.prototype.slice.call(bytes, 0, even).buffer));
        }
      } else if (io.onStdoutLine) {
        for await (const line of createInterface({ input: child.stdout })) io.onStdoutLine(line);
      } else {
        child.stdout.resume();
      }
    })();
    const [code, complete] = await Promise.all([exited, fed, read]).catch((error: unknown) => {
      child.kill('SIGKILL');
      throw signal.aborted ? signal.reason : error;
    });
    if (signal.aborted) throw signal.reason as Error;
    if (code === 0) return complete;
    const name = command.split('/').pop();
    // ffmpeg's own lines name temporary paths: they go to the log, not to the user
    throw new TranscriptionFailure(
      `${name} could not read the recording as audio; upload it again in another format.`,
      'permanent',
      undefined,
      `exit ${code}: ${tail.join(' | ').slice(0, 300)}`,
    );
  }
}

/** What a tool reads and how its output is taken. */
interface ToolIo {
  stdin?: Readable;
  onStdoutLine?: (line: string) => void;
  onSamples?: (samples: Int16Array) => void;
}
