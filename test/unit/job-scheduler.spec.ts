import { describe, expect, it } from 'vitest';
import { Clock } from '../../src/database/clock.js';
import {
  JobScheduler,
  LOST_CLAIM,
  SHUTTING_DOWN,
  type JobSource,
  type SchedulableJob,
  type StartedJob,
} from '../../src/transcription/job-scheduler.js';

interface TestJob extends SchedulableJob {
  ms: number;
}

/** A source whose jobs sleep `ms` (or until aborted) and record what happened to them. */
class FakeSource implements JobSource<TestJob> {
  readonly started: string[] = [];
  readonly ended: { key: string; reason?: unknown }[] = [];
  running = 0;
  maxRunning = 0;
  renewals = 0;
  renewAnswer = true;
  due: TestJob[] = [];

  async findDue(): Promise<TestJob[]> {
    return this.due;
  }
  inContext(_job: TestJob, work: () => Promise<void>): Promise<void> {
    return work();
  }
  async claim(job: TestJob): Promise<StartedJob> {
    return {
      renew: async () => (this.renewals++, this.renewAnswer),
      run: (signal) => {
        this.started.push(job.key);
        this.running++;
        this.maxRunning = Math.max(this.maxRunning, this.running);
        return new Promise<void>((resolve) => {
          const done = (reason?: unknown) => {
            clearTimeout(timer);
            this.running--;
            this.ended.push({ key: job.key, reason });
            resolve();
          };
          const timer = setTimeout(() => done(), job.ms);
          signal.addEventListener('abort', () => done(signal.reason));
        });
      },
    };
  }
}

const at = (offsetMs: number) => new Date(Date.now() + offsetMs);
const job = (key: string, order: number, ms = 20, dueInMs = 0): TestJob => ({
  key,
  ms,
  dueAt: at(dueInMs),
  order: new Date(order),
});
const options = { concurrency: 2, pollMs: 60_000, renewMs: 60_000, graceMs: 50 };

describe('JobScheduler', () => {
  it('runs at most `concurrency` jobs at once, ready ones oldest first, each key once', async () => {
    const source = new FakeSource();
    const scheduler = new JobScheduler('test', source, new Clock(), options);
    for (const [key, order] of [
      ['c', 3],
      ['a', 1],
      ['d', 4],
      ['b', 2],
      ['a', 1],
    ] as const)
      scheduler.offer(job(key, order));
    await new Promise((r) => setTimeout(r, 10));
    await scheduler.idle();
    expect(source.started).toEqual(['c', 'a', 'b', 'd']); // c and a took the two slots at once
    expect(source.maxRunning).toBe(2);
    await scheduler.stop();
  });

  it('starts a job that is not yet due when its time comes', async () => {
    const source = new FakeSource();
    const scheduler = new JobScheduler('test', source, new Clock(), options);
    const offered = Date.now();
    scheduler.offer(job('later', 1, 5, 150));
    await new Promise((r) => setTimeout(r, 100));
    expect(source.started).toEqual([]);
    await new Promise((r) => setTimeout(r, 120));
    await scheduler.idle();
    expect(source.started).toEqual(['later']);
    expect(Date.now() - offered).toBeGreaterThanOrEqual(150);
    await scheduler.stop();
  });

  it('aborts a job whose claim cannot be renewed, with LOST_CLAIM', async () => {
    const source = new FakeSource();
    const scheduler = new JobScheduler('test', source, new Clock(), options);
    scheduler.offer(job('long', 1, 10_000));
    await new Promise((r) => setTimeout(r, 10));
    await scheduler.renewAll();
    expect(source.running).toBe(1);
    source.renewAnswer = false;
    await scheduler.renewAll();
    await scheduler.idle();
    expect(source.ended).toEqual([{ key: 'long', reason: LOST_CLAIM }]);
    expect(source.renewals).toBe(2);
    await scheduler.stop();
  });

  it('on stop, lets short jobs finish within the grace period and aborts the rest with SHUTTING_DOWN', async () => {
    const source = new FakeSource();
    const scheduler = new JobScheduler('test', source, new Clock(), options);
    scheduler.offer(job('short', 1, 10));
    scheduler.offer(job('long', 2, 10_000));
    await new Promise((r) => setTimeout(r, 5));
    await scheduler.stop();
    expect(source.ended).toEqual([{ key: 'short' }, { key: 'long', reason: SHUTTING_DOWN }]);
    scheduler.offer(job('after', 3));
    await new Promise((r) => setTimeout(r, 10));
    expect(source.started).toEqual(['short', 'long']);
  });

  it('scans its source for due work', async () => {
    const source = new FakeSource();
    source.due = [job('found', 1)];
    const scheduler = new JobScheduler('test', source, new Clock(), options);
    await scheduler.scan();
    await scheduler.idle();
    expect(source.started).toEqual(['found']);
    await scheduler.stop();
  });
});
