/**
 * What went wrong with the requests of an autocannon run, counted by kind, so that a load report
 * says what each failure was ("HTTP 429 Too many uploads…", "ECONNRESET", "timeout after 10 s")
 * instead of only how many there were. Typed loosely: the test and the bench see autocannon through
 * different declarations.
 */
export class FailureTally {
  private readonly kinds = new Map<string, number>();

  constructor(private readonly timeoutSeconds: number) {}

  /** Counts the run's connection errors and timeouts (autocannon's `reqError`). */
  watch(run: { on(event: 'reqError', listener: (error: Error & { code?: string }) => void): unknown }): void {
    run.on('reqError', (error) => {
      // autocannon reports its own timeout as a plain Error with this message
      const kind = error.message === 'request timed out' ? `timeout after ${this.timeoutSeconds} s` : error.code;
      this.add(kind ?? `${error.name}: ${error.message.slice(0, 80)}`);
    });
  }

  /** Counts an answer that is not a 2xx, by status and the problem's title or detail. */
  response(status: number, body: string | undefined): void {
    if (status >= 200 && status < 300) return;
    let what: string;
    try {
      const problem = JSON.parse(body ?? '') as { title?: string; detail?: string };
      what = problem.detail ?? problem.title ?? '';
    } catch {
      what = (body ?? '').slice(0, 80);
    }
    this.add(`HTTP ${status}${what ? ` ${what.slice(0, 100)}` : ''}`);
  }

  get total(): number {
    return [...this.kinds.values()].reduce((sum, n) => sum + n, 0);
  }

  /** Kind → count, the most frequent first. */
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.kinds].sort((a, b) => b[1] - a[1]));
  }

  private add(kind: string): void {
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
  }
}
