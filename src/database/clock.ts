import { Injectable } from '@nestjs/common';

/**
 * The time the queue, the analysis claim and the cleanup judge by (due work, leases, retention).
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
}
