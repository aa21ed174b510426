import type { IncomingMessage } from 'node:http';

/** Bytes of a refused body read and dropped so that the client gets to see the response. */
const DRAIN_LIMIT_BYTES = 32 * 1024 * 1024;
/** How long a refused body is read before the response goes out anyway. */
const DRAIN_LIMIT_MS = 30_000;

const discarding = new WeakMap<IncomingMessage, Promise<boolean>>();

/** Whether the request's body is still arriving (a refusal would otherwise close on it). */
export function bodyStillArriving(req: IncomingMessage): boolean {
  return !req.complete && !req.destroyed;
}

/**
 * Reads and drops the rest of a refused request's body. A response sent while the client is still
 * sending would be lost with the connection: the server closes it after the response (the client
 * asked for that with `Connection: close`, or the response says so), and a socket closed with
 * bytes still arriving is reset, so the client's next write fails (EPIPE) before it reads the
 * answer. Resolves true once the body has ended; false, at once, when it is declared (or grows)
 * past DRAIN_LIMIT_BYTES, takes longer than DRAIN_LIMIT_MS, or the client went: the response then
 * goes out with the connection closed after it, and what arrives meanwhile is still dropped.
 * Called again for the same request, it answers the same.
 */
export function discardBody(req: IncomingMessage): Promise<boolean> {
  let discarded = discarding.get(req);
  if (discarded) return discarded;
  discarded = new Promise<boolean>((resolve) => {
    if (!bodyStillArriving(req)) return resolve(req.complete);
    req.unpipe();
    let bytes = 0;
    const declared = Number(req.headers['content-length']);
    const giveUp = setTimeout(() => resolve(false), DRAIN_LIMIT_MS);
    giveUp.unref();
    const settle = (ended: boolean) => {
      clearTimeout(giveUp);
      resolve(ended);
    };
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > DRAIN_LIMIT_BYTES) settle(false);
    });
    req.once('end', () => settle(true));
    req.once('close', () => settle(req.complete));
    req.resume();
    if (Number.isFinite(declared) && declared > DRAIN_LIMIT_BYTES) settle(false);
  });
  discarding.set(req, discarded);
  return discarded;
}
