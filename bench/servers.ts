import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppProcess, TEST_JWT_SECRET } from '../test/support/app-process.js';

/** Anything the benchmarks send load to: the service or a baseline, each its own process. */
export interface Target {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  stop(): Promise<unknown>;
}

/** Resident memory of a process, in bytes (Linux). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** CPU time (user + system) a process has used so far, in seconds (Linux). */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Samples a process's RSS every 50 ms until stopped; returns the highest sample. */
export function sampleRss(pid: number): () => number {
  let peak = rssOf(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {
      // the process is gone; the last peak stands
    }
  }, 50);
  return () => {
    clearInterval(timer);
    return peak;
  };
}

/**
 * Settings shared by every service process the bench starts. The bench sends one user's load from
 * many connections at once, so every per-user limit is raised to its maximum here; a limit added
 * later that the bench trips answers 429, which fails `npm run bench -- --smoke` in `npm test`.
 */
export const SERVICE_ENV: Record<string, string> = {
  // for measuring another write window (bench/NOTES.md, "Chunk writes"); the service's default otherwise
  ...(process.env.GRIDFS_WRITE_WINDOW_CHUNKS
    ? { GRIDFS_WRITE_WINDOW_CHUNKS: process.env.GRIDFS_WRITE_WINDOW_CHUNKS }
    : {}),
  // LOG_LEVEL stays at its default (info, one line per request), as the service runs in production
  RATE_LIMIT_UPLOADS_PER_MINUTE: '100000',
  RATE_LIMIT_ANALYZE_PER_MINUTE: '100000',
  RATE_LIMIT_UPLOAD_CHECKS_PER_MINUTE: '100000',
  MAX_CONCURRENT_UPLOADS_PER_USER: '10000',
  MAX_EVENT_STREAMS_PER_USER: '10000',
  MAX_SESSIONS_PER_USER: '10000000',
  // the nightly cleanup must not run in the middle of a measurement
  CLEANUP_CRON: '0 0 1 1 *',
};

export async function startService(
  mongodbUri: string,
  env: Record<string, string>,
  openaiUrl?: string,
): Promise<Target & { app: AppProcess }> {
  const app = await AppProcess.start({
    mongodbUri,
    openaiUrl,
    apiKey: openaiUrl ? 'sk-bench' : null,
    env: { ...SERVICE_ENV, ...env },
  });
  return { name: 'service', url: app.url, pid: app.pid, app, stop: () => app.stop() };
}

export { TEST_JWT_SECRET };

/** A baseline server (bench/baselines/*.server.js) as a child process. */
export async function startBaseline(
  name: string,
  script: 'raw-driver' | 'naive-multer',
  mongodbUri: string,
  chunkSizeBytes: number,
): Promise<Target> {
  const file = join(import.meta.dirname, 'baselines', `${script}.server.js`);
  const proc: ChildProcess = spawn(process.execPath, [file], {
    env: { PATH: process.env.PATH ?? '', MONGODB_URI: mongodbUri, GRIDFS_CHUNK_SIZE_BYTES: String(chunkSizeBytes) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output.join('')}`)), 20_000);
    const collect = (data: Buffer) => {
      output.push(data.toString());
      const match = /listening on port (\d+)/.exec(output.join(''));
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    proc.stdout!.on('data', collect);
    proc.stderr!.on('data', collect);
    proc.once('exit', (code) => reject(new Error(`${name} exited (${code}):\n${output.join('')}`)));
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    pid: proc.pid!,
    stop: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}
