import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs } from '../common/backoff.js';
import { databaseSettings, type DatabaseSettings } from '../config/settings.js';
import { Clock } from './clock.js';
import { ensureCollection } from './ensure-collection.js';

const LOCKS = 'document_locks';
/**
 * A lock is broken once a waiter has seen it, with the same token, for this long (its own elapsed
 * time: the holder's clock is never compared with the waiter's). Writes take milliseconds.
 */
export const LOCK_TTL_MS = 10_000;
/**
 * The guarded write must end within this, well inside LOCK_TTL_MS: after it the holder abandons the
 * write (the server is told to abort it too: SessionDocuments sets maxTimeMS) and keeps the lock,
 * so nobody can be let in while a write that lost its lock could still land.
 */
export const LOCK_WRITE_BUDGET_MS = 8_000;
/**
 * The holder's right to write ends this long before LOCK_TTL_MS has passed on its own clock, which
 * starts before its lock was inserted (a waiter's starts after it saw the lock): room for the two
 * clocks' rates to differ and for a statement in flight.
 */
const LEASE_MARGIN_MS = 1_000;
/** A statement is not started with less time than this left on the lease. */
const MIN_STATEMENT_MS = 250;
const ACQUIRE_TIMEOUT_MS = 15_000;

/** FerretDB on SQLite answers a write that found the database file locked with this error. */
const SQLITE_BUSY = /SQLITE_BUSY|database is locked/;
/** Waits of about 50, 100, 200 ms between the tries of a write that found SQLite busy. */
const BUSY_BACKOFF = { baseMs: 50, maxMs: 200, jitter: [0.5, 1.5] } as const;
/** Waits between looks at a lock another holder has: short at first, at most about 50 ms. */
const HELD_BACKOFF = { baseMs: 4, maxMs: 50, jitter: [0.5, 1.5] } as const;

/**
 * Runs a write again when FerretDB's SQLite reported its file busy: the failed statement was rolled
 * back, so trying again is safe, and the condition passes within milliseconds.
 */
async function retryWhileBusy<T>(work: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !SQLITE_BUSY.test((error as Error).message)) throw error;
      await sleep(backoffMs(attempt, BUSY_BACKOFF));
    }
  }
}

export class DocumentLockTimeout extends Error {
  override name = 'DocumentLockTimeout';
}

/** The write guarded by a lock did not end within LOCK_WRITE_BUDGET_MS; it was abandoned. */
export class DocumentWriteTimeout extends Error {
  override name = 'DocumentWriteTimeout';
}

/** The holder's lease ran out before its next statement (it was paused): that statement was not sent. */
export class DocumentLockLost extends Error {
  override name = 'DocumentLockLost';
}

/** Options for one statement: the server aborts it (maxTimeMS), the driver never sends it late (signal). */
export interface StatementLimits {
  maxTimeMS: number;
  signal?: AbortSignal;
}

/**
 * What the holder of a lock may still do. Each statement of the guarded work takes its limits from
 * here just before it is sent, so a holder that was paused past its lease cannot write: it gets
 * DocumentLockLost instead, and a statement it sent is cut off before any waiter may break the lock.
 */
export interface LockLease {
  /** True when a database lock is held (FerretDB); false where the server is atomic by itself. */
  readonly exclusive: boolean;
  /** Limits for the statement about to be sent; throws DocumentLockLost when the lease has run out. */
  statement(): StatementLimits;
}

const atomicServer: LockLease = { exclusive: false, statement: () => ({ maxTimeMS: LOCK_WRITE_BUDGET_MS }) };

class HeldLease implements LockLease {
  readonly exclusive = true;
  constructor(
    private readonly key: string,
    private readonly endsAt: number,
    private readonly now: () => number,
  ) {}

  /** What a write started now may take: what the lease has left, at most LOCK_WRITE_BUDGET_MS. */
  budgetMs(): number {
    return Math.min(LOCK_WRITE_BUDGET_MS, Math.floor(this.endsAt - this.now()));
  }

  statement(): StatementLimits {
    const left = this.budgetMs();
    if (left < MIN_STATEMENT_MS) throw new DocumentLockLost(`the lease on ${this.key} ran out before a write`);
    return { maxTimeMS: left, signal: AbortSignal.timeout(left) };
  }
}

/**
 * Errors after which the statement may still be running on the server: the client stopped waiting
 * (its abort signal), or the connection broke. The lock is kept until it lapses then, as after an
 * abandoned write. A server error (a refused or timed-out statement) means it has ended.
 */
const STILL_IN_FLIGHT = new Set(['AbortError', 'MongoNetworkError', 'MongoNetworkTimeoutError']);
const mayStillLand = (error: unknown) => STILL_IN_FLIGHT.has((error as Error | undefined)?.name ?? '');

class OverBudget {}
const overBudget = new OverBudget();

function withinBudget<T>(work: Promise<T>, budgetMs: number): Promise<T | OverBudget> {
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<OverBudget>((resolve) => (timer = setTimeout(() => resolve(overBudget), budgetMs)));
  return Promise.race([work, budget]).finally(() => clearTimeout(timer));
}

/**
 * Makes a read-modify-write of one document exclusive on servers that do not apply conditional
 * updates atomically.
 *
 * MongoDB applies each update to a single document atomically, so there this class does nothing.
 * FerretDB 1.x does not: it runs findAndModify and update as a read followed by a whole-document
 * write, so two concurrent `$set`s on one session lose one of them and two workers can both "win"
 * the same conditional claim. Inserting a document with a given _id *is* atomic there, so on
 * FerretDB (or with MONGODB_DOCUMENT_LOCKS=on) every write to a session runs under a lock document.
 *
 * The work is handed a LockLease and takes each statement's limits from it, so the lock also fences:
 * the lease ends (on the holder's monotonic clock, started before its insert) a margin before any
 * waiter may break the lock, a statement is never sent after that, and one in flight is aborted by
 * the server (maxTimeMS) and the driver (signal) by then.
 */
@Injectable()
export class DocumentLocks implements OnModuleInit {
  private readonly logger = new Logger(DocumentLocks.name);
  private enabled?: Promise<boolean>;
  /** Local queue per key, so that one process does not race itself for the database lock. */
  private readonly local = new Map<string, Promise<unknown>>();

  constructor(
    @InjectConnection() private readonly connection: Connection,
    @Inject(databaseSettings.KEY) private readonly settings: DatabaseSettings,
    private readonly clock: Clock,
  ) {}

  /** The lock collection exists before the first write needs it (see ensureCollection). */
  async onModuleInit(): Promise<void> {
    if (!(await this.needed().catch(() => false))) return;
    await ensureCollection(this.connection.db!, LOCKS).catch((error: Error) =>
      this.logger.warn(`could not create ${LOCKS}: ${error.message}`),
    );
  }

  withLock<T>(key: string, work: (lease: LockLease) => Promise<T>): Promise<T> {
    const previous = this.local.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.withDatabaseLock(key, work));
    const tail = run.catch(() => undefined);
    this.local.set(key, tail);
    void tail.then(() => {
      if (this.local.get(key) === tail) this.local.delete(key);
    });
    return run;
  }

  private needed(): Promise<boolean> {
    this.enabled ??= this.detect();
    return this.enabled;
  }

  /** Whether writes take a lock; says which at start-up (the CI's lock-free pass checks that line). */
  private async detect(): Promise<boolean> {
    const setting = this.settings.documentLocks;
    if (setting !== 'auto') {
      this.logger.log(
        setting === 'on'
          ? `document locks on (MONGODB_DOCUMENT_LOCKS=on): session writes take a document lock`
          : `document locks off (MONGODB_DOCUMENT_LOCKS=off): each write is one conditional update, atomic on MongoDB`,
      );
      return setting === 'on';
    }
    try {
      const info = await this.connection.db!.admin().command({ buildInfo: 1 });
      const ferret = typeof info.ferretdbVersion === 'string';
      this.logger.log(
        ferret
          ? `document locks on (FerretDB ${info.ferretdbVersion} detected): session writes take a document lock`
          : `document locks off (MongoDB ${info.version}): each write is one conditional update, atomic there`,
      );
      return ferret;
    } catch (error) {
      this.enabled = undefined; // ask again next time
      throw error;
    }
  }

  private async withDatabaseLock<T>(key: string, work: (lease: LockLease) => Promise<T>): Promise<T> {
    if (!(await this.needed())) return work(atomicServer);
    const deadline = Date.now() + ACQUIRE_TIMEOUT_MS;
    for (;;) {
      const { token, lease } = await this.acquire(key, deadline);
      const budgetMs = lease.budgetMs();
      if (budgetMs < MIN_STATEMENT_MS) {
        // paused between taking the lock and using it: a waiter may already have broken it
        this.logger.warn(`the lease on ${key} ran out before its write started; taking the lock again`);
        await this.release(key, token);
        continue;
      }
      const outcome = await withinBudget(
        retryWhileBusy(() => work(lease)),
        budgetMs,
      ).catch(async (error: unknown) => {
        // a statement cut off by its signal or a broken connection may still land: keep the lock
        if (!mayStillLand(error)) await this.release(key, token);
        throw error;
      });
      if (outcome === overBudget) {
        // not released: the abandoned write may still land; the lock is broken once it has lapsed
        throw new DocumentWriteTimeout(`the write under the lock on ${key} took over ${budgetMs} ms`);
      }
      await this.release(key, token);
      return outcome as T;
    }
  }

  /** Inserts the lock document, waiting for (and, once it has lapsed, breaking) another holder's. */
  private async acquire(key: string, deadline: number): Promise<{ token: string; lease: HeldLease }> {
    const locks = this.connection.db!.collection<{ _id: string; token: string; expires_at: Date }>(LOCKS);
    const token = randomUUID();
    const now = () => this.clock.monotonicMs();
    let seen = null as { token: string; since: number } | null;
    for (let attempt = 0; ; attempt++) {
      const sentAt = now();
      try {
        await retryWhileBusy(() =>
          locks.insertOne({ _id: key, token, expires_at: new Date(Date.now() + LOCK_TTL_MS) }),
        );
        return { token, lease: new HeldLease(key, sentAt + LOCK_TTL_MS - LEASE_MARGIN_MS, now) };
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
      }
      const held = await locks.findOne({ _id: key });
      if (held && held.token !== seen?.token) seen = { token: held.token, since: now() };
      if (held && seen && now() - seen.since > LOCK_TTL_MS) {
        this.logger.warn(`breaking a lock on ${key} held for over ${LOCK_TTL_MS} ms`);
        await locks.deleteOne({ _id: key, token: held.token });
        continue;
      }
      if (Date.now() > deadline) throw new DocumentLockTimeout(`timed out waiting for the lock on ${key}`);
      await sleep(backoffMs(attempt + 1, HELD_BACKOFF));
    }
  }

  private async release(key: string, token: string): Promise<void> {
    const locks = this.connection.db!.collection<{ _id: string; token: string }>(LOCKS);
    await retryWhileBusy(() => locks.deleteOne({ _id: key, token })).catch((error: Error) => {
      this.logger.warn(`could not release the lock on ${key}: ${error.message}; it expires by itself`);
    });
  }
}
