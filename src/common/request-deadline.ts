import type { NextFunction, Request, Response } from 'express';
import { PROBLEM_JSON, problemDetails } from './problem-details.js';

/**
 * Closes a request whose body has not fully arrived within `ms` (a slow-drip client): 408 if no
 * response has started, then the connection is dropped. Node's own requestTimeout is only checked
 * every 30 seconds, which lets such clients hold a connection far longer than configured.
 */
export function requestDeadline(ms: number) {
  return (req: Request, res: Response, next: NextFunction) => {
    const timer = setTimeout(() => {
      if (req.complete) return;
      if (!res.headersSent) {
        res.status(408).setHeader('Connection', 'close');
        res.type(PROBLEM_JSON).json(problemDetails(408, 'The request took too long to arrive; send it again.'));
      }
      setTimeout(() => req.socket.destroy(), 100).unref();
    }, ms);
    timer.unref();
    const done = () => clearTimeout(timer);
    req.once('end', done);
    res.once('close', done);
    next();
  };
}
