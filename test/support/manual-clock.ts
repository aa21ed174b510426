import { Clock } from '../../src/database/clock.js';

/** A clock that stands still until the test moves it: leases lapse and retries fall due on command. */
export class ManualClock extends Clock {
  private current: number;

  constructor(start = new Date('2026-06-01T09:00:00Z')) {
    super();
    this.current = start.getTime();
  }

  override now(): Date {
    return new Date(this.current);
  }

  advance(ms: number): Date {
    this.current += ms;
    return this.now();
  }
}
