import { Injectable } from '@nestjs/common';

/**
 * The time the queue, the analysis claim, the cleanup and the document locks judge by (due work,
 * leases, retention).
 * One injectable class, so that tests move time instead of sleeping.
 */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }

  nowMs(): number {
    return this.now().getTime();
  }

  /** Elapsed-time readings (never set back, unrelated to the date): what a lease is timed by. */
  monotonicMs(): number {
    return performance.now();
  }
}
