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
