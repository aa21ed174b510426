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
  /** After this long the job gives its slot back, then finishes `ms` later (never when absent). */
  freeSlotAfterMs?: number;
}

/** A source whose jobs sleep `ms` (or until aborted) and record what happened to them. */
class FakeSource implements JobSource<TestJob> {
  readonly started: string[] = [];
  readonly ended: { key: string; reason?: unknown }[] = [];
  running = 0;
  maxRunning = 0;
  inSlot = 0;
  maxInSlot = 0;
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
      run: (signal, freeSlot) => {
        this.started.push(job.key);
        this.running++;
        this.maxRunning = Math.max(this.maxRunning, this.running);
        this.maxInSlot = Math.max(this.maxInSlot, ++this.inSlot);
        let slotFreed = false;
        const giveBack = () => {
          if (slotFreed) return;
          slotFreed = true;
          this.inSlot--;
          freeSlot!();
        };
        return new Promise<void>((resolve) => {
          let timer: NodeJS.Timeout;
          const done = (reason?: unknown) => {
            clearTimeout(timer);
            giveBack();
            this.running--;
            this.ended.push({ key: job.key, reason });
            resolve();
          };
          if (job.freeSlotAfterMs === undefined) timer = setTimeout(() => done(), job.ms);
          else {
            timer = setTimeout(() => {
              giveBack();
              timer = setTimeout(() => done(), job.ms);
            }, job.freeSlotAfterMs);
          }
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

  it('starts the next job when one gives its slot back to finish, with at most as many finishing as slots', async () => {
    const source = new FakeSource();
    const scheduler = new JobScheduler('test', source, new Clock(), options);
    // each job holds its slot 20 ms, then finishes for 200 ms beside the others
    for (let i = 0; i < 6; i++) scheduler.offer({ ...job(`j${i}`, i, 200), freeSlotAfterMs: 20 });
    await new Promise((r) => setTimeout(r, 100));
    // two in their slots at most; two more finishing; the last two wait for a finisher to end
    expect(source.started).toEqual(['j0', 'j1', 'j2', 'j3']);
    expect(source.running).toBe(4);
    expect(source.maxInSlot).toBe(2);
    await scheduler.idle();
    await new Promise((r) => setTimeout(r, 10));
    await scheduler.idle();
    expect(source.started).toEqual(['j0', 'j1', 'j2', 'j3', 'j4', 'j5']);
    expect(source.maxRunning).toBe(4);
    expect(source.maxInSlot).toBe(2);
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
