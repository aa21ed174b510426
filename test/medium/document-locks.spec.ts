import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DocumentLocks,
  DocumentWriteTimeout,
  LOCK_TTL_MS,
  LOCK_WRITE_BUDGET_MS,
} from '../../src/database/document-locks.js';
import { startMedium, type MediumApp } from '../support/medium.js';

/** Issue 15, item 10: the FerretDB document lock. */
let app: MediumApp;
let locks: DocumentLocks;

beforeAll(async () => {
  app = await startMedium('locks', { env: { MONGODB_DOCUMENT_LOCKS: 'on' } });
  locks = app.get(DocumentLocks);
});
afterAll(() => app?.close());

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
});
