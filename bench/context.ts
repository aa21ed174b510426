import type { Db } from 'mongodb';
import { streamingWav } from '../test/support/audio.js';
import { partHeader } from '../test/support/raw-http.js';
import type { Target } from './servers.js';

export interface BenchContext {
  /** Shorter runs and smaller files, for development (BENCH_QUICK=1 or --quick); also set by --smoke. */
  quick: boolean;
  /**
   * `--smoke` (in `npm test`): every benchmark once with tiny sizes and no warm-ups, no target judged,
   * so that a change that breaks a benchmark (a new limit answering 429, a renamed route) fails CI.
   */
  smoke: boolean;
  /** The database URI with a database name of the bench's own. */
  uri(database: string): string;
  /** The GridFS chunk size of the service's default configuration (the baselines use the same). */
  chunkSizeBytes: number;
  log(message: string): void;
}

export const MB = 1024 * 1024;
export const BOUNDARY = 'bench-boundary-5d1c0f3a9e';

/** Repetitions: `full` normally, `quick` in quick mode, once in a smoke run. */
export function reps(ctx: BenchContext, full: number, quick: number): number {
  return ctx.smoke ? 1 : ctx.quick ? quick : full;
}

/** A size (bytes, requests, seconds, answers): `full` normally, `quick` in quick mode, `smoke` in a smoke run. */
export function sized(ctx: BenchContext, full: number, quick: number, smoke: number): number {
  return ctx.smoke ? smoke : ctx.quick ? quick : full;
}

/** Where a target takes an upload: the service's route, or the baselines' bare one. */
export function uploadPath(target: Target, sessionId: string, questionId: string): string {
  return target.name === 'service'
    ? `/api/upload-answer/${sessionId}/${questionId}`
    : `/upload/${sessionId}/${questionId}`;
}

/** A whole multipart body carrying one WAV of `bytes` (for small uploads sent many times). */
export async function multipartWav(bytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of streamingWav(bytes)) parts.push(Buffer.from(chunk as Buffer));
  return Buffer.concat([
    Buffer.from(partHeader(BOUNDARY, { name: 'audio', filename: 'answer.wav', contentType: 'audio/wav', data: '' })),
    ...parts,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

/** Empties GridFS between measurements so that every upload meets the same, empty collections. */
export async function resetGridFs(db: Db): Promise<void> {
  for (const name of ['fs.files', 'fs.chunks']) {
    await db
      .collection(name)
      .drop()
      .catch(() => undefined);
  }
}
