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

/** Resolves once `done` holds (the scheduler's steps are asynchronous; a loaded machine delays them). */
async function until(done: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the scheduler');
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** A source whose jobs take a slot for `ms`, with `beforeMs` before it and `afterMs` after it. */
class SlottedSource extends FakeSource {
  inSlot = 0;
  maxInSlot = 0;
  /** Started and not yet past their slot. */
  unfinished = 0;
  maxUnfinished = 0;
  /** Jobs waiting for a slot, prepared, each time a slot was given back. */
  atSlot = 0;
  readonly waitingAtRelease: number[] = [];
  /** The jobs that had ended when each job started. */
  readonly endedAtStart = new Map<string, string[]>();
  readonly startedGroups: (string | undefined)[] = [];

  constructor(
    private readonly beforeMs: number,
    private readonly afterMs: number,
  ) {
    super();
  }

  override async claim(job: TestJob): Promise<StartedJob> {
    return {
      renew: async () => true,
      run: async (signal, slot) => {
        this.started.push(job.key);
        this.endedAtStart.set(
          job.key,
          this.ended.map((e) => e.key),
        );
        this.startedGroups.push(job.group);
        this.running++;
        this.maxRunning = Math.max(this.maxRunning, this.running);
        this.unfinished++;
        this.maxUnfinished = Math.max(this.maxUnfinished, this.unfinished);
        await new Promise((r) => setTimeout(r, this.beforeMs));
        this.atSlot++;
        const release = await slot(signal).finally(() => this.atSlot--);
        this.inSlot++;
        this.maxInSlot = Math.max(this.maxInSlot, this.inSlot);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, job.ms);
          signal.addEventListener('abort', () => (clearTimeout(timer), resolve()));
        });
        this.inSlot--;
        this.unfinished--;
        this.waitingAtRelease.push(this.atSlot);
        release();
        await new Promise((r) => setTimeout(r, this.afterMs));
        this.running--;
        this.ended.push({ key: job.key });
      },
    };
  }
}

/** A SlottedSource whose jobs' errors (the reasons they were stopped for) are recorded, not thrown. */
function abortRecordingSource(): { source: SlottedSource; reasons: unknown[] } {
  const reasons: unknown[] = [];
  const source = new SlottedSource(0, 0);
  const original = source.claim.bind(source);
  source.claim = async (j) => {
    const started = await original(j);
    return { ...started, run: (signal, slot) => started.run(signal, slot).catch((e) => void reasons.push(e)) };
  };
  return { source, reasons };
}

describe('JobScheduler with jobs started ahead', () => {
  const grouped = (key: string, order: number, group: string, ms = 40): TestJob => ({ ...job(key, order, ms), group });

  it('keeps every slot busy while other jobs prepare and finish beside them', async () => {
    // jobs prepare at once (no timing in the assertions: the bench measures the gain), then hold a
    // slot for 40 ms and finish for 30 ms beside the others
    const source = new SlottedSource(0, 30);
    const scheduler = new JobScheduler('test', source, new Clock(), { ...options, ahead: 2 });
    for (let i = 0; i < 8; i++) scheduler.offer(grouped(`j${i}`, i, `g${i}`));
    await new Promise((r) => setTimeout(r, 5));
    await scheduler.idle();
    expect(source.maxInSlot).toBe(2);
    expect(source.maxUnfinished).toBe(4); // two in the slots, two prepared; those finishing do not count
    expect(source.maxRunning).toBeGreaterThan(4);
    expect(source.ended).toHaveLength(8);
    // every slot given back while jobs were left found a prepared one waiting for it (one holding its
    // slot from claim to end would leave none waiting)
    expect(source.waitingAtRelease).toHaveLength(8);
    expect(source.waitingAtRelease.slice(0, 6).every((n) => n >= 1)).toBe(true);
    await scheduler.stop();
  });

  it('starts a job ahead only for a group with nothing running here', async () => {
    const source = new SlottedSource(20, 20);
    const scheduler = new JobScheduler('test', source, new Clock(), { ...options, ahead: 2 });
    for (const [key, order, group] of [
      ['a1', 1, 'a'],
      ['a2', 2, 'a'],
      ['a3', 3, 'a'],
      ['b1', 4, 'b'],
      ['c1', 5, 'c'],
    ] as const)
      scheduler.offer(grouped(key, order, group));
    await until(() => source.started.length >= 4);
    // a1 and a2 fill the two slots' places; a3 waits, since group a is busy; b1 and c1 start ahead
    expect(source.started).toEqual(['a1', 'a2', 'b1', 'c1']);
    expect(source.endedAtStart.get('c1')).toEqual([]);
    await scheduler.idle();
    expect(source.started).toEqual(['a1', 'a2', 'b1', 'c1', 'a3']);
    expect(source.maxInSlot).toBe(2);
    await scheduler.stop();
  });

  it('does not start a job of a group while another of that group is still finishing', async () => {
    const source = new SlottedSource(0, 80);
    const scheduler = new JobScheduler('test', source, new Clock(), { ...options, concurrency: 1, ahead: 1 });
    scheduler.offer(grouped('a1', 1, 'a', 10));
    scheduler.offer(grouped('a2', 2, 'a', 10));
    scheduler.offer(grouped('b1', 3, 'b', 10));
    await scheduler.idle();
    // b1 started ahead of a2 while a1 was still running; a2 only once a1 had finished
    expect(source.started).toEqual(['a1', 'b1', 'a2']);
    expect(source.endedAtStart.get('b1')).toEqual([]);
    expect(source.endedAtStart.get('a2')).toContain('a1');
    await scheduler.stop();
  });

  it('hands back a job that reaches its slot after the stop, even within the grace period', async () => {
    const { source, reasons } = abortRecordingSource();
    const scheduler = new JobScheduler('test', source, new Clock(), {
      ...options,
      concurrency: 1,
      ahead: 1,
      graceMs: 500,
    });
    scheduler.offer(grouped('holder', 1, 'x', 30));
    scheduler.offer(grouped('waiter', 2, 'y', 10));
    await until(() => source.inSlot === 1 && source.atSlot === 1); // the holder in the slot, the waiter at it
    await scheduler.stop(); // the holder ends within the grace period and frees its slot; the waiter gets no call
    expect(source.ended).toEqual([{ key: 'holder' }]);
    expect(reasons).toEqual([SHUTTING_DOWN]);
    expect(source.maxInSlot).toBe(1);
  });

  it('aborts a job still waiting for a slot on stop, with SHUTTING_DOWN, and it takes no slot', async () => {
    const { source, reasons } = abortRecordingSource();
    const scheduler = new JobScheduler('test', source, new Clock(), { ...options, concurrency: 1, ahead: 1 });
    scheduler.offer(grouped('holder', 1, 'x', 10_000));
    scheduler.offer(grouped('waiter', 2, 'y', 10));
    await until(() => source.inSlot === 1 && source.atSlot === 1);
    await scheduler.stop();
    expect(reasons).toEqual([SHUTTING_DOWN]);
    expect(source.ended).toEqual([{ key: 'holder' }]); // cut short by the abort; the waiter never got in
    expect(source.maxInSlot).toBe(1);
  });
});
