import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection, Types } from 'mongoose';
import { DocumentLocks } from '../database/document-locks.js';
import { ensureCollection } from '../database/ensure-collection.js';
import type { WebhookEventType } from '../interview-record/pending-webhooks.js';

export interface WebhookAttempt {
  at: Date;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

/** One event for one URL: the outbox row and the record of every attempt to deliver it. */
export interface WebhookDelivery {
  /** Also the event id the receiver sees: the same event is never stored (or sent) twice. */
  _id: string;
  session_id: Types.ObjectId;
  event: WebhookEventType;
  url: string;
  /** The exact JSON that is signed and sent, kept so every retry sends the same bytes. */
  body: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: WebhookAttempt[];
  next_attempt_at: Date | null;
  claim_id: string | null;
  lease_until: Date | null;
  created_at: Date;
  delivered_at: Date | null;
}

const DELIVERIES = 'webhook_deliveries';
const DUPLICATE_KEY = 11000;

/** All webhook-delivery I/O. Claims are conditional updates, made exclusive on FerretDB by DocumentLocks. */
@Injectable()
export class WebhookDeliveryStore implements OnModuleInit {
  constructor(
    @InjectConnection() private readonly connection: Connection,
    private readonly locks: DocumentLocks,
  ) {}

  private collection() {
    return this.connection.db!.collection<WebhookDelivery>(DELIVERIES);
  }

  async onModuleInit(): Promise<void> {
    await ensureCollection(this.connection.db!, DELIVERIES, [
      { key: { status: 1, next_attempt_at: 1 } },
      { key: { session_id: 1 } },
    ]).catch(() => undefined); // the database may be down at boot; indexes are created next start
  }

  /** Stores the event once: a second enqueue of the same id is a no-op. */
  async enqueue(delivery: Omit<WebhookDelivery, 'attempts' | 'claim_id' | 'lease_until' | 'delivered_at'>) {
    // insertOne, not an upsert with $setOnInsert: FerretDB 1.24 drops null and [] fields from those
    await this.collection()
      .insertOne({ ...delivery, attempts: [], claim_id: null, lease_until: null, delivered_at: null })
      .catch((error: { code?: number }) => {
        if (error.code !== DUPLICATE_KEY) throw error;
      });
  }

  /** Pending deliveries whose time has come, or whose claim lapsed (the holder died). */
  findDue(now: Date, limit: number): Promise<Pick<WebhookDelivery, '_id'>[]> {
    return this.collection()
      .find({ status: 'pending', next_attempt_at: { $lte: now } }, { projection: { _id: 1 } })
      .sort({ next_attempt_at: 1 })
      .limit(limit)
      .toArray();
  }

  /** Takes the delivery for one attempt; null when another instance has it or it is done. */
  async claim(id: string, claimId: string, leaseUntil: Date, now: Date): Promise<WebhookDelivery | null> {
    return this.locks.withLock(`${DELIVERIES}:${id}`, (lock) =>
      this.collection().findOneAndUpdate(
        { _id: id, status: 'pending', next_attempt_at: { $lte: now } },
        { $set: { claim_id: claimId, lease_until: leaseUntil, next_attempt_at: leaseUntil } },
        { returnDocument: 'after', ...lock.statement() },
      ),
    );
  }

  /** Records an attempt and the delivery's next state, if the claim is still ours. */
  settle(
    id: string,
    claimId: string,
    attempt: WebhookAttempt,
    next: { status: WebhookDelivery['status']; next_attempt_at: Date | null; delivered_at?: Date },
  ): Promise<boolean> {
    return this.locks.withLock(`${DELIVERIES}:${id}`, async (lock) => {
      const settled = await this.collection().findOneAndUpdate(
        { _id: id, claim_id: claimId },
        { $push: { attempts: attempt }, $set: { ...next, claim_id: null, lease_until: null } },
        lock.statement(),
      );
      return settled !== null;
    });
  }

  find(id: string): Promise<WebhookDelivery | null> {
    return this.collection().findOne({ _id: id });
  }

  forSession(sessionId: Types.ObjectId): Promise<WebhookDelivery[]> {
    return this.collection().find({ session_id: sessionId }).sort({ created_at: 1 }).toArray();
  }

  /** The distinct session ids of stored deliveries after `after`, in order, up to `limit` rows read. */
  async sessionIdsAfter(after: Types.ObjectId | null, limit: number): Promise<Types.ObjectId[]> {
    const rows = await this.collection()
      .find(after ? { session_id: { $gt: after } } : {}, { projection: { session_id: 1 } })
      .sort({ session_id: 1 })
      .limit(limit)
      .toArray();
    const ids = new Map(rows.map((row) => [String(row.session_id), row.session_id]));
    return [...ids.values()];
  }

  /** Erasure: the events carried the session's ids and scores, so they go with it. */
  async deleteForSession(sessionId: Types.ObjectId): Promise<number> {
    return (await this.collection().deleteMany({ session_id: sessionId })).deletedCount;
  }
}
