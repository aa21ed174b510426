import { HttpException, HttpStatus, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs } from '../common/backoff.js';
import { userLimitSettings, type UserLimitSettings } from '../config/settings.js';
import { ensureCollection } from './ensure-collection.js';

const LEASES = 'user_leases';

/** What a user holds for as long as it runs. */
export type UserLeaseKind = 'event_stream' | 'upload';

interface LeaseRow {
  _id: string;
  user_id: string;
  kind: UserLeaseKind;
  /** pending: inserted, not yet admitted by its count; held: admitted. */
  state: 'pending' | 'held';
  expires_at: Date;
}

/** Steps back from a contended acquire: random waits of at most 25, 50, … 800 ms (1.6 s in all). */
const CONTENDED_RETRIES = 6;
const CONTENDED_BACKOFF = { baseMs: 25, maxMs: 800, jitter: [0, 1] } as const;

/** A held lease: renewed in the background until released. Releasing twice is harmless. */
export interface HeldUserLease {
  release(): Promise<void>;
}

/**
 * How many streams or uploads one user holds at once, across every instance. FerretDB has no
 * atomic conditional update that could count and take in one step, so a lease is taken by
 * inserting a row, then counting the user's live rows of that kind: over the limit, the row is
 * deleted again. Two racers for the last place may both be refused, never both admitted (the
 * later count sees both rows).
 *
 * A row is `pending` until its count admits it, then `held`. When the user's held rows already
 * fill the limit, the caller is refused at once. When the limit was exceeded only by pending rows
 * (a burst of simultaneous requests, each counting the others' rows), the caller steps back for a
 * random, growing time and tries again, so that a burst admits up to the limit instead of refusing
 * every one of its requests; it is refused only when the burst has not cleared within about two
 * seconds. A holder renews its row every third of USER_LEASE_MS; a crashed instance's rows stop
 * counting when they expire, and are deleted by the next release of that user and kind.
 */
@Injectable()
export class UserLeases implements OnModuleInit {
  private readonly logger = new Logger(UserLeases.name);

  constructor(
    @InjectConnection() private readonly connection: Connection,
    @Inject(userLimitSettings.KEY) private readonly settings: UserLimitSettings,
  ) {}

  async onModuleInit(): Promise<void> {
    await ensureCollection(this.connection.db!, LEASES, [
      { key: { user_id: 1, kind: 1, expires_at: 1 }, name: 'user_kind_expiry' },
    ]).catch(() => undefined); // the database may be down at boot
  }

  private collection() {
    return this.connection.db!.collection<LeaseRow>(LEASES);
  }

  /** The limit of `kind` for every user. */
  limitOf(kind: UserLeaseKind): number {
    return kind === 'event_stream' ? this.settings.eventStreams : this.settings.uploads;
  }

  /** A lease of `kind` for the user, or null when the user already holds the limit. */
  async tryAcquire(userId: string, kind: UserLeaseKind): Promise<HeldUserLease | null> {
    for (let retry = 0; ; retry++) {
      const outcome = await this.attempt(userId, kind);
      if (outcome === 'full') return null;
      if (outcome !== 'contended') return outcome;
      if (retry === CONTENDED_RETRIES) return null;
      await sleep(backoffMs(retry + 1, CONTENDED_BACKOFF));
    }
  }

  /**
   * One insert-then-count: a lease, `full` (held rows fill the limit) or `contended`. Admitted in
   * three round trips (insert, count, mark held); the held rows are counted only when over the limit.
   */
  private async attempt(userId: string, kind: UserLeaseKind): Promise<HeldUserLease | 'full' | 'contended'> {
    const leaseMs = this.settings.leaseMs;
    const limit = this.limitOf(kind);
    const now = new Date();
    const live = { user_id: userId, kind, expires_at: { $gt: now } };
    const id = randomUUID();
    await this.collection().insertOne({
      _id: id,
      user_id: userId,
      kind,
      state: 'pending',
      expires_at: new Date(now.getTime() + leaseMs),
    });
    if ((await this.collection().countDocuments(live)) > limit) {
      const full = (await this.collection().countDocuments({ ...live, state: 'held' })) >= limit;
      await this.collection().deleteOne({ _id: id });
      return full ? 'full' : 'contended';
    }
    await this.collection().updateOne({ _id: id }, { $set: { state: 'held' } });
    const renew = setInterval(
      () => {
        this.collection()
          .updateOne({ _id: id }, { $set: { expires_at: new Date(Date.now() + leaseMs) } })
          .catch((error: Error) => this.logger.warn(`could not renew a ${kind} lease: ${error.message}`));
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    renew.unref();
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(renew);
        // with the rows of this user and kind that expired (a crashed instance's), in the same delete
        const expired = { user_id: userId, kind, expires_at: { $lte: new Date() } };
        await this.collection()
          .deleteMany({ $or: [{ _id: id }, expired] })
          .catch((error: Error) => this.logger.warn(`could not release a ${kind} lease: ${error.message}`));
      },
    };
  }

  /** A lease, or the 429 that says what the user holds and when to ask again. */
  async acquire(userId: string, kind: UserLeaseKind): Promise<HeldUserLease> {
    const lease = await this.tryAcquire(userId, kind);
    if (lease) return lease;
    const limit = this.limitOf(kind);
    const seconds = Math.max(1, Math.ceil(this.settings.leaseMs / 1000));
    const message =
      kind === 'event_stream'
        ? `You already have ${limit} event stream${limit === 1 ? '' : 's'} open (MAX_EVENT_STREAMS_PER_USER); close one (an EventSource you no longer need) and retry in ${seconds} second${seconds === 1 ? '' : 's'}.`
        : `You already have ${limit} upload${limit === 1 ? '' : 's'} in flight (MAX_CONCURRENT_UPLOADS_PER_USER); wait for one to finish and retry in ${seconds} second${seconds === 1 ? '' : 's'}.`;
    throw new HttpException({ message, retryAfter: seconds }, HttpStatus.TOO_MANY_REQUESTS);
  }
}
