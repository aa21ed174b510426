import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const TEST_JWT_SECRET = 'test-secret-for-the-e2e-suite-0123456789';
/** The project root: the nearest folder holding package.json (the bench runs this file compiled elsewhere). */
function projectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
const MAIN = join(projectRoot(import.meta.dirname), 'dist/main.js');
/**
 * The V8 flags production starts the server with (Dockerfile, `npm run start:prod`;
 * docs/operations.md, "Memory"): semi-spaces of 4 MB. With Node 24's default (up to 32 MB each) the young generation
 * is collected so rarely under a fast upload that the socket's and the driver's dead buffers pile
 * up between collections: 512 MB through tus raised RSS by 33.6-53 MB, and by 11-29 MB with this.
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=4'];

export interface LogEntry {
  level: string;
  msg: string;
  context?: string;
  req_id?: string;
  [field: string]: unknown;
}

/**
 * MONGODB_DOCUMENT_LOCKS as the test run gives it (`MONGODB_DOCUMENT_LOCKS=off npm run …`): every
 * server the run starts gets it, unless a test sets its own, and must say at start-up that it took
 * it. CI runs the flows that need no concurrency with `off` on FerretDB (vitest.lock-free.config.ts),
 * so that the lock-free code MongoDB users run is executed.
 */
const RUN_DOCUMENT_LOCKS = process.env.MONGODB_DOCUMENT_LOCKS;

export interface AppOptions {
  mongodbUri: string;
  openaiUrl?: string;
  /** null starts the server without OPENAI_API_KEY. */
  apiKey?: string | null;
  env?: Record<string, string>;
}

/** Settings that make the pipeline quick enough to test without changing what it does. */
const FAST_PIPELINE: Record<string, string> = {
  TRANSCRIPTION_POLL_MS: '300',
  TRANSCRIPTION_RETRY_BASE_MS: '50',
  TRANSCRIPTION_RETRY_MAX_MS: '400',
  TRANSCRIPTION_LEASE_MS: '3000',
  TRANSCRIPTION_TIMEOUT_MS: '10000',
  SHUTDOWN_GRACE_MS: '3000',
};

/**
 * The built server (dist/main.js) as a real child process, as it runs in production.
 * `AppProcess.start(options)` starts one; made with `new`, it is a handle that `launch(options)`
 * starts later (a fixture hands it out before its beforeAll runs).
 */
export class AppProcess {
  readonly logs: string[] = [];
  url = '';
  proc!: ChildProcess;
  private exited!: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  static start(options: AppOptions): Promise<AppProcess> {
    return new AppProcess().launch(options);
  }

  async launch(options: AppOptions): Promise<this> {
    if (this.proc) throw new Error('this server was launched already');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      // as the image and start:prod run it: glibc keeps fewer malloc arenas, so the freed socket and
      // BSON buffers of a long upload go back to be used again instead of growing RSS (docs/operations.md)
      MALLOC_ARENA_MAX: '2',
      NODE_ENV: 'test',
      NO_COLOR: '1',
      PORT: '0',
      MONGODB_URI: options.mongodbUri,
      JWT_SECRET: TEST_JWT_SECRET,
      ...FAST_PIPELINE,
      ...(RUN_DOCUMENT_LOCKS ? { MONGODB_DOCUMENT_LOCKS: RUN_DOCUMENT_LOCKS } : {}),
      ...(options.openaiUrl ? { OPENAI_BASE_URL: options.openaiUrl } : {}),
      ...(options.apiKey === null ? {} : { OPENAI_API_KEY: options.apiKey ?? 'sk-test-key' }),
      ...options.env,
    };
    const proc = spawn(process.execPath, [...SERVER_NODE_FLAGS, MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    const collect = (data: Buffer) => this.logs.push(...data.toString().split('\n').filter(Boolean));
    proc.stdout.on('data', collect);
    proc.stderr.on('data', collect);
    const match = await this.waitForLog(/listening on http:\/\/localhost:(\d+)/, 30_000);
    this.url = `http://127.0.0.1:${match[1]}`;
    const locks = env.MONGODB_DOCUMENT_LOCKS;
    if (locks === 'on' || locks === 'off') {
      // the setting reached the server and was taken: a pass meant to run without locks never
      // silently runs with them (the line is logged before the server listens)
      await this.waitForLog(new RegExp(`document locks ${locks} \\(MONGODB_DOCUMENT_LOCKS=${locks}\\)`), 1_000);
    }
    return this;
  }

  /** The server's JSON log lines, parsed (lines that are not JSON, e.g. a crash trace, are skipped). */
  entries(): LogEntry[] {
    return this.logs.flatMap((line) => {
      try {
        const entry = JSON.parse(line) as LogEntry;
        return typeof entry === 'object' && entry && typeof entry.msg === 'string' ? [entry] : [];
      } catch {
        return [];
      }
    });
  }

  /** Warning and error lines, and anything that is not a JSON log line (a crash on stderr). */
  problems(): string[] {
    return this.logs.filter((line) => !line.startsWith('{') || /"level":"(warn|error|fatal)"/.test(line));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  async waitForLog(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      for (const line of this.logs) {
        const match = line.match(pattern);
        if (match) return match;
      }
      if (exited || Date.now() > deadline) {
        throw new Error(
          `server never logged ${pattern} (${exited ? 'it exited' : 'timeout'}):\n${this.logs.join('\n')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Resident and peak resident memory of the server process, in bytes (Linux). */
  memory(): { rss: number; peak: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  }

  /** Runs `run` while sampling the RSS every `everyMs`: its result and the highest RSS seen, from the start. */
  async peakRssDuring<T>(run: () => Promise<T>, everyMs = 50): Promise<{ result: T; peak: number }> {
    let peak = this.memory().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, this.memory().rss)), everyMs);
    try {
      const result = await run();
      return { result, peak };
    } finally {
      clearInterval(sampler);
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000) {
    if (!this.proc) return undefined; // never launched
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.exited;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }

  kill() {
    return this.stop('SIGKILL');
  }
}
