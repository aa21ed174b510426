/**
 * Claims on kept recordings that hold across this browser's tabs (Web Locks): one tab at a time
 * uploads a recording, so two tabs of the same user never both send it. A lock is let go when its
 * work ends or its tab closes. Without Web Locks (older browsers, jsdom) the claim covers nothing,
 * and the caller's in-page bookkeeping is all there is.
 */
export type ClaimMode = 'wait' | 'ifAvailable';

/**
 * Runs `work` holding the claim on `key`: `wait` queues behind another tab's claim, `ifAvailable`
 * gives up at once when another tab holds it. Resolves to whether the work ran.
 */
export async function claimAcrossTabs(key: string, mode: ClaimMode, work: () => Promise<void>): Promise<boolean> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  if (typeof locks?.request !== 'function') {
    await work();
    return true;
  }
  return locks.request(
    `interview-recording/${key.replaceAll('\u0000', '/')}`,
    { ifAvailable: mode === 'ifAvailable' },
    async (lock) => {
      if (!lock) return false;
      await work();
      return true;
    },
  );
}
