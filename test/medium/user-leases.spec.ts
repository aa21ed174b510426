import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserLeases, type HeldUserLease } from '../../src/database/user-leases.js';
import { startMedium, type MediumApp } from '../support/medium.js';

/**
 * Insert-then-count (FerretDB has no atomic conditional insert) never admits more than the limit,
 * however many race for it, and a burst of simultaneous requests still admits some of them.
 */
let app: MediumApp;

beforeAll(async () => {
  app = await startMedium('user-leases', { env: { MAX_CONCURRENT_UPLOADS_PER_USER: '3', USER_LEASE_MS: '5000' } });
});
afterAll(() => app?.close());

describe('UserLeases', () => {
  it('admits at least one and at most the limit of twenty simultaneous acquires, and all of them once released', async () => {
    const leases = app.get(UserLeases);
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(Array.from({ length: 20 }, () => leases.tryAcquire('racer', 'upload')));
      const admitted = results.filter((r): r is HeldUserLease => r !== null);
      expect(admitted.length).toBeLessThanOrEqual(3);
      // a burst is not refused whole: its requests step back and retry until the limit is held
      expect(admitted.length).toBeGreaterThanOrEqual(1);
      const rows = await app.db.collection('user_leases').countDocuments({ user_id: 'racer', kind: 'upload' });
      expect(rows).toBe(admitted.length);
      await Promise.all(admitted.map((lease) => lease.release()));
      expect(await app.db.collection('user_leases').countDocuments({ user_id: 'racer' })).toBe(0);
    }
    // one at a time, each is admitted up to the limit, then refused
    const one = [
      await leases.tryAcquire('solo', 'upload'),
      await leases.tryAcquire('solo', 'upload'),
      await leases.tryAcquire('solo', 'upload'),
    ];
    expect(one.every(Boolean)).toBe(true);
    expect(await leases.tryAcquire('solo', 'upload')).toBeNull();
    const stream = await leases.tryAcquire('solo', 'event_stream'); // kinds are counted apart
    expect(stream).not.toBeNull();
    await Promise.all([...one, stream].map((lease) => lease!.release()));
  });
});
