import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { randomUUID } from 'node:crypto';
import { DocumentLocks } from './document-locks.js';
import { ensureCollection } from './ensure-collection.js';

const LEASES = 'job_leases';

export interface Lease {
  name: string;
  owner: string;
}

/** A named lease in MongoDB so that only one instance at a time runs a job (the nightly cleanup). */
@Injectable()
export class JobLeases implements OnModuleInit {
  constructor(
    @InjectConnection() private readonly connection: Connection,
    private readonly locks: DocumentLocks,
  ) {}

  /** Created at start-up, not by the first cleanup (see ensureCollection). */
  async onModuleInit(): Promise<void> {
    await ensureCollection(this.connection.db!, LEASES).catch(() => undefined); // the database may be down at boot
  }

  private collection() {
    return this.connection.db!.collection<{ _id: string; owner: string; until: Date }>(LEASES);
  }

  /** Takes the lease for `ttlMs` if nobody holds it (or the holder's lease lapsed); null otherwise. */
  async acquire(name: string, ttlMs: number): Promise<Lease | null> {
    const owner = randomUUID();
    const now = new Date();
    const until = new Date(now.getTime() + ttlMs);
    return this.locks.withLock(`${LEASES}:${name}`, async (lock) => {
      try {
        await this.collection().insertOne({ _id: name, owner, until }, lock.statement());
        return { name, owner };
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
      }
      const taken = await this.collection().findOneAndUpdate(
        { _id: name, until: { $lt: now } },
        { $set: { owner, until } },
        { returnDocument: 'after', ...lock.statement() },
      );
      return taken ? { name, owner } : null;
    });
  }

  async release(lease: Lease): Promise<void> {
    await this.locks.withLock(`${LEASES}:${lease.name}`, (lock) =>
      this.collection().findOneAndDelete({ _id: lease.name, owner: lease.owner }, lock.statement()),
    );
  }
}
