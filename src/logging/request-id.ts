import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

/** A caller's own id is kept when it is short and plain, so one id follows a request across systems. */
const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id: X-Request-Id from the caller when acceptable, else a new UUID; echoed back. */
export function requestIdOf(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && ACCEPTABLE.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/**
 * Gives the request its id before anything can refuse it (the body parser, the request deadline),
 * so that every response carries X-Request-Id; pino-http then logs under the same id.
 */
export function assignRequestId(req: IncomingMessage & { id?: string }, res: ServerResponse, next: () => void): void {
  req.id ??= requestIdOf(req, res);
  next();
}
