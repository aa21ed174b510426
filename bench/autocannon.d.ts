// autocannon ships no types; the bench uses this much of its programmatic API.
declare module 'autocannon' {
  interface Request {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    setupRequest?: (req: Request, context: unknown) => Request;
    onResponse?: (status: number, body: string, context: unknown) => void;
  }
  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    amount?: number;
    timeout?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    requests?: Request[];
  }
  interface Histogram {
    average: number;
    mean: number;
    p50: number;
    p99: number;
    max: number;
    total: number;
  }
  interface Result {
    latency: Histogram;
    requests: Histogram;
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
  }
  /** A run: its result once it ends, and its events meanwhile. */
  interface Instance extends Promise<Result> {
    on(event: 'reqError', listener: (error: Error & { code?: string }) => void): Instance;
  }
  function autocannon(options: Options): Instance;
  export default autocannon;
}
