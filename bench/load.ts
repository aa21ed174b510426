import autocannon from 'autocannon';
import { FailureTally } from '../test/support/load-failures.js';

export interface LoadResult {
  p50: number;
  p99: number;
  requestsPerSecond: number;
  total: number;
  failures: number;
  /** What the failures were, by kind ("HTTP 503 …", "ECONNRESET", "timeout after 120 s") → count. */
  failureKinds: Record<string, number>;
}

const TIMEOUT_S = 120;

export interface LoadOptions {
  url: string;
  connections: number;
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** A fixed number of requests, or else a duration. */
  amount?: number;
  durationSeconds?: number;
  /** A path per request (e.g. a different question each upload). */
  nextPath?: () => string;
}

/** Runs autocannon in this process; a non-2xx answer, a connection error and a timeout count as failures. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const base = new URL(options.url);
  const started = performance.now();
  const failures = new FailureTally(TIMEOUT_S);
  const run = autocannon({
    url: base.origin,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.durationSeconds ?? 5 }),
    timeout: TIMEOUT_S,
    requests: [
      {
        method: options.method ?? 'GET',
        path: base.pathname,
        headers: options.headers,
        body: options.body,
        ...(options.nextPath ? { setupRequest: (req) => ({ ...req, path: options.nextPath!() }) } : {}),
        onResponse: (status, body) => failures.response(status, body),
      },
    ],
  });
  failures.watch(run);
  const result = await run;
  // autocannon's own duration is in whole seconds: too coarse for short runs
  const seconds = (performance.now() - started) / 1000;
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    requestsPerSecond: result['2xx'] / seconds,
    total: result.requests.total,
    // autocannon counts a timeout among its errors too
    failures: result.non2xx + result.errors,
    failureKinds: failures.toJSON(),
  };
}
