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

  it("deletes the rows a crashed instance left, once expired, with the user's next release of that kind", async () => {
    const leases = app.get(UserLeases);
    const rows = app.db.collection<{ _id: string }>('user_leases');
    const past = new Date(Date.now() - 1_000);
    await rows.insertMany([
      { _id: 'crashed-upload', user_id: 'ghost', kind: 'upload', state: 'held', expires_at: past },
      { _id: 'crashed-stream', user_id: 'ghost', kind: 'event_stream', state: 'held', expires_at: past },
      { _id: 'other-user', user_id: 'someone', kind: 'upload', state: 'held', expires_at: past },
    ] as never[]);
    const lease = await leases.tryAcquire('ghost', 'upload');
    expect(lease).not.toBeNull(); // expired rows do not count
    expect(await rows.countDocuments({ user_id: 'ghost' })).toBe(3);
    await lease!.release();
    const left = await rows.find({}, { projection: { _id: 1 } }).toArray();
    expect(left.map((r) => r._id).sort()).toEqual(['crashed-stream', 'other-user']);
    await rows.deleteMany({});
  });
});
