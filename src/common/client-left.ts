import type { ServerResponse } from 'node:http';

/**
 * Tells, later, whether the client went away since this was called: its response closed before
 * any answer was sent. `req.destroyed` cannot tell this: a request whose body a parser has read
 * is destroyed too, with its client still waiting for the answer.
 */
export function watchClientLeft(res: ServerResponse): () => boolean {
  let left = false;
  res.once('close', () => (left = true));
  return () => left;
}
