import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Exponential backoff with jitter, the one formula for every retry in the service: attempt n
 * (1-based) waits base·2^(n-1), capped at `maxMs`, scaled by a random factor in `jitter`
 * ([low, high]), and never less than `floorMs` (what a server's Retry-After asked for).
 */
export function backoffMs(
  attempt: number,
  policy: { baseMs: number; maxMs: number; jitter: readonly [number, number] },
  floorMs = 0,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const [low, high] = policy.jitter;
  return Math.round(Math.max(exponential * (low + random() * (high - low)), floorMs));
}

/** How a write that keeps a paid provider's answer is tried again: after 100 ms, doubling up to 5 s. */
export const STORE_RETRY = { baseMs: 100, maxMs: 5_000, jitter: [0.5, 1] } as const;

/**
 * Runs `write` until the database takes it: what a paid provider answered is kept through a blip or
 * a lock timeout, never thrown away to be asked for (and paid for) again. The write must be fenced
 * (conditional on the claim or lease that allows it) and safe to repeat. Undefined when `signal`
 * stops it first (the lease is gone, the process is shutting down, or the caller's time is up) after a
 * failed try.
 */
export async function untilStored<T>(
  write: () => Promise<T>,
  signal: AbortSignal,
  onRetry: (error: Error, attempt: number, delayMs: number) => void,
): Promise<T | undefined> {
  // tried at least once, however `signal` stands: the answer is paid for already
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (signal.aborted) return undefined;
      const delay = backoffMs(attempt, STORE_RETRY);
      onRetry(error as Error, attempt, delay);
      const stopped = await sleep(delay, false, { signal }).catch(() => true);
      if (stopped) return undefined;
    }
  }
}
