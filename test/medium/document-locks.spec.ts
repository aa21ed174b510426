import { Collection } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Clock } from '../../src/database/clock.js';
import {
  DocumentLockLost,
  DocumentLocks,
  DocumentWriteTimeout,
  LOCK_TTL_MS,
  LOCK_WRITE_BUDGET_MS,
} from '../../src/database/document-locks.js';
import { startMedium, type MediumApp } from '../support/medium.js';

/** The document lock that makes conditional updates exclusive on FerretDB, which lacks atomic ones. */
let app: MediumApp;
let locks: DocumentLocks;

beforeAll(async () => {
  app = await startMedium('locks', { env: { MONGODB_DOCUMENT_LOCKS: 'on' } });
  locks = app.get(DocumentLocks);
});
afterAll(() => app?.close());
afterEach(() => vi.restoreAllMocks());

/** The holder's elapsed time jumps by `ms`, as if its process had been paused that long. */
function pauseHolder(): (ms: number) => void {
  let offset = 0;
  vi.spyOn(app.get(Clock), 'monotonicMs').mockImplementation(() => performance.now() + offset);
  return (ms) => (offset += ms);
}

describe('the document lock', () => {
  it("is not broken at sight because the holder's clock is behind the waiter's", async () => {
    // a holder whose clock runs a minute behind wrote an expiry that already looks past here
    await app.db
      .collection('document_locks')
      .insertOne({ _id: 'skewed' as never, token: 'holder', expires_at: new Date(Date.now() - 60_000) });
    let ran = false;
    const waiting = locks.withLock('skewed', async () => {
      ran = true;
    });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(ran).toBe(false);
    await app.db.collection('document_locks').deleteOne({ _id: 'skewed' as never }); // the holder releases
    await waiting;
    expect(ran).toBe(true);
  });

  it('abandons a guarded write that outlasts its budget, well inside the lock lifetime, and keeps the lock', async () => {
    const started = Date.now();
    const stuck = locks.withLock('slow', () => new Promise<void>(() => undefined));
    await expect(stuck).rejects.toBeInstanceOf(DocumentWriteTimeout);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(LOCK_WRITE_BUDGET_MS - 50);
    expect(took).toBeLessThan(LOCK_TTL_MS);
    expect(await app.db.collection('document_locks').countDocuments({ _id: 'slow' as never })).toBe(1);
  }, 20_000);

  it('lets a holder paused past its lease send no further statement', async () => {
    const pause = pauseHolder();
    const limits: number[] = [];
    const outcome = locks.withLock('paused-in-work', async (lease) => {
      limits.push(lease.statement().maxTimeMS);
      pause(LOCK_TTL_MS - 500); // a waiter may break the lock 500 ms from now: too late to start a write
      lease.statement();
    });
    await expect(outcome).rejects.toBeInstanceOf(DocumentLockLost);
    expect(limits).toHaveLength(1);
    expect(limits[0]).toBeGreaterThan(LOCK_WRITE_BUDGET_MS - 100);
    expect(limits[0]).toBeLessThanOrEqual(LOCK_WRITE_BUDGET_MS);
    expect(await app.db.collection('document_locks').countDocuments({ _id: 'paused-in-work' as never })).toBe(0);
  });

  it('gives each statement no more time than the lease has left, never the whole budget late', async () => {
    const pause = pauseHolder();
    let limit = 0;
    await locks.withLock('late-statement', async (lease) => {
      pause(LOCK_TTL_MS - 3_000);
      const statement = lease.statement();
      limit = statement.maxTimeMS;
      expect(statement.signal?.aborted).toBe(false);
    });
    // 10 s lock, 1 s margin, 7 s gone: about 2 s are left, not the 8 s budget
    expect(limit).toBeGreaterThan(1_500);
    expect(limit).toBeLessThanOrEqual(2_000);
  });

  it('takes the lock again, rather than write, when paused between taking it and starting the write', async () => {
    const pause = pauseHolder();
    const insertOne = Collection.prototype.insertOne;
    let broken = false;
    vi.spyOn(Collection.prototype, 'insertOne').mockImplementation(async function (this: Collection, doc, options) {
      const result = await insertOne.call(this, doc, options);
      if (this.collectionName === 'document_locks' && doc._id === 'paused-before-work' && !broken) {
        broken = true;
        // while the holder slept, a waiter saw its lock for LOCK_TTL_MS, broke it and took it
        pause(LOCK_TTL_MS + 1_000);
        await this.replaceOne({ _id: doc._id }, { token: 'waiter', expires_at: new Date(Date.now() + LOCK_TTL_MS) });
      }
      return result;
    });
    let ran = false;
    const outcome = locks.withLock('paused-before-work', async () => {
      ran = true;
    });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(broken).toBe(true);
    expect(ran).toBe(false); // the waiter holds the lock now; the paused holder must not write
    const held = await app.db.collection('document_locks').findOne({ _id: 'paused-before-work' as never });
    expect(held?.token).toBe('waiter');
    await app.db.collection('document_locks').deleteOne({ _id: 'paused-before-work' as never, token: 'waiter' });
    await outcome;
    expect(ran).toBe(true);
  });

  it('keeps the lock when a statement was cut off by its signal, since the server may still apply it', async () => {
    const cutOff = locks.withLock('cut-off', async (lease) => {
      const { signal } = lease.statement();
      expect(signal).toBeDefined();
      const error = new Error('This operation was aborted');
      error.name = 'AbortError';
      throw error;
    });
    await expect(cutOff).rejects.toMatchObject({ name: 'AbortError' });
    expect(await app.db.collection('document_locks').countDocuments({ _id: 'cut-off' as never })).toBe(1);
    // a refusal by the server ends the statement: the lock is let go
    await expect(locks.withLock('refused', () => Promise.reject(new Error('E11000 duplicate key')))).rejects.toThrow();
    expect(await app.db.collection('document_locks').countDocuments({ _id: 'refused' as never })).toBe(0);
  });
});
