import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Slots } from '../common/slots.js';
import type { Clock } from '../database/clock.js';

/** Why a running job was told to stop (its AbortSignal's reason). */
export const LOST_CLAIM = 'lost-claim';
export const SHUTTING_DOWN = 'shutting-down';

/** Something to run once it is due. Offering the same key twice keeps the earlier due time. */
export interface SchedulableJob {
  key: string;
  /** Not before then (a retry's backoff, or a lease that has yet to lapse). */
  dueAt: Date;
  /** Ready jobs start in this order, earliest first (upload time). */
  order: Date;
  /**
   * Jobs of one group write to the same thing (an answer's session): a job started ahead (beyond
   * `concurrency`) is one whose group has no job running here, so it never only queues behind them.
   */
  group?: string;
}

/** Waits for one of the scheduler's `concurrency` slots; resolves with its release (call it once). */
export type TakeSlot = (signal: AbortSignal) => Promise<() => void>;

/** A job whose claim is held: renewed while it runs, stopped when the claim is gone. */
export interface StartedJob {
  /** Extends the claim; false when it is gone, and the job is then aborted with LOST_CLAIM. */
  renew(): Promise<boolean>;
  /**
   * Runs the job. With `ahead`, the job holds one of the `concurrency` slots only around its costly
   * part (`slot`); what it does before and after runs beside the other jobs' slots.
   */
  run(signal: AbortSignal, slot: TakeSlot): Promise<void>;
}

/** Where the jobs come from and what a job is: the scheduler knows nothing else about them. */
export interface JobSource<J extends SchedulableJob> {
  /** Work due by `now` that this process may not have heard of (other instances, retries, lapsed leases). */
  findDue(now: Date): Promise<J[]>;
  /** Claims the job; null when somebody else has it or it is gone. */
  claim(job: J): Promise<StartedJob | null>;
  /** Runs `work` in the job's own context (its log bindings). */
  inContext(job: J, work: () => Promise<void>): Promise<void>;
}

export interface SchedulerOptions {
  /** Jobs holding a slot at once (with `ahead` 0, jobs running at once). */
  concurrency: number;
  /**
   * Jobs that may be started beyond `concurrency`, each in a group with no other job running here
   * (in any phase): they prepare (claim, read) while the slots are busy and take the next free one.
   * A job that has given its slot back (storing what it got) no longer counts, so the slots are held
   * only around the costly part. 0 (the default): a job holds its slot from start to end.
   */
  ahead?: number;
  /** How often to look for due work in the database. */
  pollMs: number;
  /** How often a running job's claim is renewed. */
  renewMs: number;
  /** On stop, how long running jobs may finish before they are aborted with SHUTTING_DOWN. */
  graceMs: number;
}

interface Running {
  abort: AbortController;
  done: Promise<void>;
  started?: StartedJob;
  group?: string;
  /** Gave its slot back: only storing what it got is left. */
  finishing?: boolean;
}

/** A slot that is always free: a job that holds its slot from start to end (no `ahead`), or runs alone. */
export const freeSlot: TakeSlot = () => Promise.resolve(() => undefined);

/**
 * Runs at most `concurrency` jobs at once (with `ahead`: that many holding a slot, up to `ahead`
 * more preparing, and those that gave their slot back finishing), ready ones in `order`; wakes up
 * when the next waiting one becomes due, scans its source every `pollMs`, renews the claims of
 * running jobs every `renewMs` and, on stop, gives them `graceMs` before aborting them (a job that
 * reaches its slot after the stop is aborted then). The source's database holds the state;
 * this only decides when to look and what to start.
 */
export class JobScheduler<J extends SchedulableJob> {
  private readonly logger: Logger;
  private readonly waiting = new Map<string, J>();
  private readonly running = new Map<string, Running>();
  private stopping = false;
  private scanTimer?: NodeJS.Timeout;
  private renewTimer?: NodeJS.Timeout;
  private wakeTimer?: NodeJS.Timeout;
  private wakeAt = Infinity;
  /** With `ahead`: the `concurrency` slots that running jobs take around their costly part. */
  private readonly slots?: Slots;

  constructor(
    name: string,
    private readonly source: JobSource<J>,
    private readonly clock: Clock,
    private readonly options: SchedulerOptions,
  ) {
    this.logger = new Logger(name);
    if ((options.ahead ?? 0) > 0) this.slots = new Slots(options.concurrency);
  }

  /** Scans at once, then every pollMs; renews running claims every renewMs. */
  start(): void {
    this.scheduleScan(0);
    this.renewTimer = setInterval(() => void this.renewAll(), Math.max(250, this.options.renewMs));
  }

  /** A job that may be due: started when due and a slot is free. */
  offer(job: J): void {
    if (this.stopping || this.running.has(job.key)) return;
    const known = this.waiting.get(job.key);
    if (!known || job.dueAt < known.dueAt) this.waiting.set(job.key, job);
    this.pump();
  }

  /** Looks for due work in the source and offers it. */
  async scan(): Promise<void> {
    let due: J[];
    try {
      due = await this.source.findDue(this.clock.now());
    } catch (error) {
      this.logger.warn(`could not scan for work: ${(error as Error).message}`);
      return;
    }
    for (const job of due) this.offer(job);
  }

  /** Renews every running job's claim; a job whose claim is gone is aborted. */
  async renewAll(): Promise<void> {
    await Promise.all(
      [...this.running.entries()].map(async ([key, job]) => {
        if (!job.started || job.abort.signal.aborted) return;
        try {
          if (!(await job.started.renew())) job.abort.abort(LOST_CLAIM);
        } catch (error) {
          this.logger.warn(`could not renew the claim on ${key}: ${(error as Error).message}`);
        }
      }),
    );
  }

  /** Resolves when every job started so far has ended (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  get runningKeys(): string[] {
    return [...this.running.keys()];
  }

  /** Stops taking jobs, gives running ones graceMs to finish, then aborts the rest with SHUTTING_DOWN. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.scanTimer);
    clearTimeout(this.wakeTimer);
    clearInterval(this.renewTimer);
    this.waiting.clear();
    const all = () => Promise.allSettled([...this.running.values()].map((job) => job.done));
    if (this.running.size > 0) {
      this.logger.log(`shutting down: waiting up to ${this.options.graceMs} ms for ${this.running.size} job(s)`);
      await Promise.race([all(), sleep(this.options.graceMs)]);
    }
    if (this.running.size > 0) {
      this.logger.warn(`shutting down: handing ${this.running.size} unfinished job(s) back`);
      for (const job of this.running.values()) job.abort.abort(SHUTTING_DOWN);
      await all();
    }
  }

  private scheduleScan(delayMs: number): void {
    if (this.stopping) return;
    this.scanTimer = setTimeout(() => {
      void this.scan().finally(() => this.scheduleScan(this.options.pollMs));
    }, delayMs);
  }

  /**
   * Starts ready jobs, earliest order first, while there is room: up to `concurrency` + `ahead` jobs
   * not yet past their slot, and a job of a group with a job running here (in any phase) only while
   * fewer than `concurrency` run in all, as without `ahead`: a group's writes share a lock, and more
   * of them at once would only queue there, the claims' renewals too. Wakes up for the next due one.
   */
  private pump(): void {
    if (this.stopping) return;
    const now = this.clock.nowMs();
    for (;;) {
      const next = this.nextReady(now);
      if (!next) break;
      this.waiting.delete(next.key);
      this.launch(next);
    }
    let earliest = Infinity;
    for (const job of this.waiting.values()) earliest = Math.min(earliest, job.dueAt.getTime());
    if (earliest > now && earliest < this.wakeAt) {
      clearTimeout(this.wakeTimer);
      this.wakeAt = earliest;
      this.wakeTimer = setTimeout(() => {
        this.wakeAt = Infinity;
        this.pump();
      }, earliest - now);
    }
  }

  private nextReady(now: number): J | undefined {
    const { concurrency, ahead = 0 } = this.options;
    let active = 0;
    for (const r of this.running.values()) if (!r.finishing) active++;
    if (active >= concurrency + ahead) return undefined;
    // a job of a group with a job running here (in any phase) starts only as it would without `ahead`
    const busy = this.running.size < concurrency ? null : this.busyGroups();
    let next: J | undefined;
    for (const job of this.waiting.values()) {
      if (job.dueAt.getTime() > now || (next && job.order >= next.order)) continue;
      if (busy && job.group !== undefined && busy.has(job.group)) continue;
      next = job;
    }
    return next;
  }

  private busyGroups(): Set<string> {
    return new Set([...this.running.values()].flatMap((r) => (r.group === undefined ? [] : [r.group])));
  }

  private launch(job: J): void {
    const entry: Running = { abort: new AbortController(), done: Promise.resolve(), group: job.group };
    const slots = this.slots;
    const slot: TakeSlot = slots
      ? async (signal) => {
          const release = await slots.take(signal);
          if (this.stopping) {
            // no costly part starts once stopping: the job is aborted as at the end of the grace period
            release();
            entry.abort.abort(SHUTTING_DOWN);
            throw entry.abort.signal.reason;
          }
          return () => {
            release();
            entry.finishing = true;
            this.pump();
          };
        }
      : freeSlot;
    entry.done = this.source
      .inContext(job, async () => {
        const started = await this.source.claim(job);
        if (!started) return;
        entry.started = started;
        await started.run(entry.abort.signal, slot);
      })
      .catch((error: Error) => this.logger.error(`job ${job.key} crashed: ${error.stack ?? error.message}`))
      .finally(() => {
        this.running.delete(job.key);
        this.pump();
      });
    this.running.set(job.key, entry);
  }
}
