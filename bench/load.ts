import autocannon from 'autocannon';

export interface LoadResult {
  p50: number;
  p99: number;
  requestsPerSecond: number;
  total: number;
  failures: number;
}

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

/** Runs autocannon in this process; a non-2xx answer counts as a failure. */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const base = new URL(options.url);
  const started = performance.now();
  const result = await autocannon({
    url: base.origin,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.durationSeconds ?? 5 }),
    timeout: 120,
    requests: [
      {
        method: options.method ?? 'GET',
        path: base.pathname,
        headers: options.headers,
        body: options.body,
        ...(options.nextPath ? { setupRequest: (req) => ({ ...req, path: options.nextPath!() }) } : {}),
      },
    ],
  });
  // autocannon's own duration is in whole seconds: too coarse for short runs
  const seconds = (performance.now() - started) / 1000;
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    requestsPerSecond: result['2xx'] / seconds,
    total: result.requests.total,
    failures: result.non2xx + result.errors + result.timeouts,
  };
}
