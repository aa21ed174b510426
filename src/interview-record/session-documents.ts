import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectModel } from '@nestjs/mongoose';
import type { Model, QueryFilter, Types, UpdateQuery } from 'mongoose';
import { Clock } from '../database/clock.js';
import { DocumentLocks, type LockLease } from '../database/document-locks.js';
import { SESSION_CHANGED, type SessionChangedEvent } from './session-events.js';
import { InterviewSession, type SessionRecord } from './session.schema.js';

type Filter = QueryFilter<InterviewSession>;
type Update = UpdateQuery<InterviewSession>;
/** A write made from the time it is sent: `now` is read once the session's lock is held. */
export type WriteAt = (now: Date) => { filter: Filter; update: Update };

/** The document lock that makes a session's writes exclusive (DocumentLocks). */
export const sessionLockKey = (sessionId: Types.ObjectId) => `interview_sessions:${String(sessionId)}`;

/** A write bumps `rev` exactly when it changes what clients see of the session. */
const bumpsRev = (update: Update) => typeof update.$inc?.rev === 'number';

/**
 * The one way to write an interview-session document. Each write is a single conditional update
 * (the expected state in the filter), made exclusive by the document lock where the server needs
 * that (FerretDB), and read back lean. A write that bumps `rev` is announced as SESSION_CHANGED
 * here (with the document, when the write returned it as it left it), so that no write can forget
 * to tell live clients of this process.
 *
 * No filter may reach into an array: FerretDB on PostgreSQL matches nothing then (docs/operations.md).
 * findOneAndUpdate returns whole documents: FerretDB 1.x does not implement findAndModify's
 * "fields" projection, and a session is a few kilobytes of text. Under a lock (FerretDB) every write
 * is a findAndModify, the one write command FerretDB bounds by maxTimeMS, with the limits the lease
 * gives it, so a write cannot outlive the lock that guards it.
 */
@Injectable()
export class SessionDocuments {
  constructor(
    @InjectModel(InterviewSession.name) readonly model: Model<InterviewSession>,
    private readonly locks: DocumentLocks,
    private readonly events: EventEmitter2,
    private readonly clock: Clock,
  ) {}

  /** The session as it was before (`before`) or is after (`after`) the update; null if the filter matched nothing. */
  findOneAndUpdate(
    sessionId: Types.ObjectId,
    filter: Filter,
    update: Update,
    returnDocument: 'before' | 'after',
  ): Promise<SessionRecord | null> {
    return this.findOneAndUpdateAt(sessionId, () => ({ filter, update }), returnDocument);
  }

  /**
   * findOneAndUpdate, with the filter and update made from the time the write is sent (after any wait
   * for the session's lock), so that a lease it grants runs from then: waits for a busy session must
   * not eat into it.
   */
  async findOneAndUpdateAt(
    sessionId: Types.ObjectId,
    write: WriteAt,
    returnDocument: 'before' | 'after',
  ): Promise<SessionRecord | null> {
    let sent: Update = {};
    const result = await this.locked(sessionId, (lease) => {
      const { filter, update } = write(this.clock.now());
      sent = update;
      return this.findAndUpdate(sessionId, filter, update, returnDocument, lease);
    });
    if (result && bumpsRev(sent)) this.announce(sessionId, returnDocument === 'after' ? result : undefined);
    return result;
  }

  /** Whether the filter matched (and so the update was applied). */
  updateOne(sessionId: Types.ObjectId, filter: Filter, update: Update): Promise<boolean> {
    return this.updateOneAt(sessionId, () => ({ filter, update }));
  }

  /** updateOne, with the filter and update made from the time the write is sent (findOneAndUpdateAt). */
  async updateOneAt(sessionId: Types.ObjectId, write: WriteAt): Promise<boolean> {
    let sent: Update = {};
    const matched = await this.locked(sessionId, async (lease) => {
      const { filter, update } = write(this.clock.now());
      sent = update;
      // FerretDB 1.x ignores maxTimeMS on update and delete but honours it on findAndModify
      if (lease.exclusive) return (await this.findAndUpdate(sessionId, filter, update, 'before', lease)) !== null;
      const result = await this.model.updateOne({ ...filter, _id: sessionId }, update, lease.statement()).exec();
      return result.matchedCount === 1;
    });
    if (matched && bumpsRev(sent)) this.announce(sessionId);
    return matched;
  }

  async deleteOne(sessionId: Types.ObjectId, filter: Filter): Promise<boolean> {
    return this.locked(sessionId, async (lease) => {
      const query = { ...filter, _id: sessionId };
      if (lease.exclusive) {
        return (await this.model.findOneAndDelete(query, lease.statement()).lean().exec()) !== null;
      }
      return (await this.model.deleteOne(query, lease.statement()).exec()).deletedCount === 1;
    });
  }

  private findAndUpdate(
    sessionId: Types.ObjectId,
    filter: Filter,
    update: Update,
    returnDocument: 'before' | 'after',
    lease: LockLease,
  ): Promise<SessionRecord | null> {
    return this.model
      .findOneAndUpdate({ ...filter, _id: sessionId }, update, { returnDocument, ...lease.statement() })
      .lean<SessionRecord>()
      .exec();
  }

  /**
   * Announces a write whose reply was lost (a time limit, a broken connection) once reading the
   * session back showed it applied, as its own reply would have been: live clients and the eager
   * scorer of this process hear of it all the same.
   */
  announceApplied(session: SessionRecord): void {
    this.announce(session._id, session);
  }

  /** Runs one write to a session exclusively where the server needs help with that (FerretDB). */
  private locked<T>(sessionId: Types.ObjectId, work: (lease: LockLease) => Promise<T>): Promise<T> {
    return this.locks.withLock(sessionLockKey(sessionId), work);
  }

  private announce(sessionId: Types.ObjectId, session?: SessionRecord): void {
    this.events.emit(SESSION_CHANGED, { sessionId: String(sessionId), session } satisfies SessionChangedEvent);
  }
}
