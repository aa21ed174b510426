import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { databaseSettings, type DatabaseSettings } from '../config/settings.js';
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
const ACQUIRE_TIMEOUT_MS = 15_000;

/** FerretDB on SQLite answers a write that found the database file locked with this error. */
const SQLITE_BUSY = /SQLITE_BUSY|database is locked/;

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
      await sleep(25 * 2 ** attempt * (0.5 + Math.random()));
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

class OverBudget {}
const overBudget = new OverBudget();

function withinBudget<T>(work: Promise<T>): Promise<T | OverBudget> {
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<OverBudget>(
    (resolve) => (timer = setTimeout(() => resolve(overBudget), LOCK_WRITE_BUDGET_MS)),
  );
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
  ) {}

  /** The lock collection exists before the first write needs it (see ensureCollection). */
  async onModuleInit(): Promise<void> {
    if (!(await this.needed().catch(() => false))) return;
    await ensureCollection(this.connection.db!, LOCKS).catch((error: Error) =>
      this.logger.warn(`could not create ${LOCKS}: ${error.message}`),
    );
  }

  withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
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

  private async detect(): Promise<boolean> {
    const setting = this.settings.documentLocks;
    if (setting !== 'auto') return setting === 'on';
    try {
      const info = await this.connection.db!.admin().command({ buildInfo: 1 });
      const ferret = typeof info.ferretdbVersion === 'string';
      if (ferret) this.logger.log(`FerretDB ${info.ferretdbVersion} detected: session writes take a document lock`);
      return ferret;
    } catch (error) {
      this.enabled = undefined; // ask again next time
      throw error;
    }
  }

  private async withDatabaseLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    if (!(await this.needed())) return work();
    const locks = this.connection.db!.collection<{ _id: string; token: string; expires_at: Date }>(LOCKS);
    const token = randomUUID();
    const deadline = Date.now() + ACQUIRE_TIMEOUT_MS;
    let seen = null as { token: string; since: number } | null;
    for (let attempt = 0; ; attempt++) {
      try {
        await retryWhileBusy(() =>
          locks.insertOne({ _id: key, token, expires_at: new Date(Date.now() + LOCK_TTL_MS) }),
        );
        break;
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
      }
      const held = await locks.findOne({ _id: key });
      if (held && held.token !== seen?.token) seen = { token: held.token, since: performance.now() };
      if (held && seen && performance.now() - seen.since > LOCK_TTL_MS) {
        this.logger.warn(`breaking a lock on ${key} held for over ${LOCK_TTL_MS} ms`);
        await locks.deleteOne({ _id: key, token: held.token });
        continue;
      }
      if (Date.now() > deadline) throw new DocumentLockTimeout(`timed out waiting for the lock on ${key}`);
      await sleep(Math.min(50, 2 + attempt * 2) * (0.5 + Math.random()));
    }
    const outcome = await withinBudget(retryWhileBusy(work)).catch(async (error: unknown) => {
      await this.release(key, token);
      throw error;
    });
    if (outcome === overBudget) {
      // not released: the abandoned write may still land; the lock is broken once it has lapsed
      throw new DocumentWriteTimeout(`the write under the lock on ${key} took over ${LOCK_WRITE_BUDGET_MS} ms`);
    }
    await this.release(key, token);
    return outcome as T;
  }

  private async release(key: string, token: string): Promise<void> {
    const locks = this.connection.db!.collection<{ _id: string; token: string }>(LOCKS);
    await retryWhileBusy(() => locks.deleteOne({ _id: key, token })).catch((error: Error) => {
      this.logger.warn(`could not release the lock on ${key}: ${error.message}; it expires by itself`);
    });
  }
}
