import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Filter, ObjectId } from 'mongodb';
import type { Connection } from 'mongoose';
import { DocumentLocks, type LockLease } from '../database/document-locks.js';
import { ensureCollection } from '../database/ensure-collection.js';

export const TRANSCRIPTS_AHEAD = 'transcripts_ahead';

/**
 * A transcribed piece, in the shape an answer keeps its pieces in (AnswerPiece), so that the
 * answer's transcription takes them over as they are; declared here, where they are stored.
 */
export interface AheadPiece {
  start_seconds: number;
  end_seconds: number;
  done: boolean;
  text: string | null;
  language: string | null;
  segments: { start: number; end: number; text: string }[] | null;
  without_hints?: boolean;
}

/** A stretch of the recording, in seconds from its start. */
export interface Stretch {
  start_seconds: number;
  end_seconds: number;
}

/** The same stretch (to the millisecond its ends are stored to). */
export const sameStretch = (a: Stretch, b: Stretch) =>
  Math.abs(a.start_seconds - b.start_seconds) < 0.001 && Math.abs(a.end_seconds - b.end_seconds) < 0.001;

/**
 * What was transcribed of a resumable upload while it was still growing (its `_id` is the upload's,
 * which is also the id of the GridFS file it becomes): the pieces, each ending at a pause, that the
 * provider answered, and the piece being sent now. The answer's transcription takes them over and
 * sends only the rest. It goes with its upload (removed, erased, expired) and once the answer is
 * transcribed; the cleanup removes one whose upload and file are both gone.
 */
export interface TranscriptAhead {
  _id: ObjectId;
  session_id: ObjectId;
  question_id: string;
  /** Transcribed pieces, in order and back to back from 0 s: their transcripts are paid for. */
  pieces: AheadPiece[];
  /** The piece with the provider now (it starts where `pieces` end), for as long as `held_until`. */
  working: Stretch | null;
  /** The upload's size and the seconds it decoded to at the last look (how far the audio reaches). */
  looked_at_bytes: number;
  looked_at_seconds: number;
  /** Set when the work ahead stopped for good on this upload (the provider refused a piece). */
  stopped: boolean;
  holder: string | null;
  held_until: Date | null;
}

export type AheadTake = 'held' | 'busy';

/**
 * All database I/O of transcripts ahead (`transcripts_ahead`). Each document has one holder at a
 * time (a lease, renewed while it works); its writes run under the document lock and name the
 * holder (FerretDB applies conditional updates non-atomically), so a holder that lost it writes nothing.
 */
@Injectable()
export class TranscriptsAheadDocuments implements OnModuleInit {
  private readonly logger = new Logger(TranscriptsAheadDocuments.name);

  constructor(
    @InjectConnection() private readonly connection: Connection,
    private readonly locks: DocumentLocks,
  ) {}

  async onModuleInit(): Promise<void> {
    const db = this.connection.db;
    if (!db) return;
    await ensureCollection(db, TRANSCRIPTS_AHEAD, [{ key: { session_id: 1 } }]).catch((error: Error) =>
      this.logger.warn(`could not create ${TRANSCRIPTS_AHEAD}: ${error.message}`),
    );
  }

  private docs() {
    return this.connection.db!.collection<TranscriptAhead>(TRANSCRIPTS_AHEAD);
  }

  private locked<T>(id: ObjectId, work: (lock: LockLease) => Promise<T>): Promise<T> {
    return this.locks.withLock(`${TRANSCRIPTS_AHEAD}:${id.toHexString()}`, work);
  }

  get(id: ObjectId): Promise<TranscriptAhead | null> {
    return this.docs().findOne({ _id: id });
  }

  /**
   * Takes the document for `token` (making it on the first look) unless another holder's lease is
   * still running; the document as taken, or 'busy'.
   */
  take(
    id: ObjectId,
    owner: { session_id: ObjectId; question_id: string },
    token: string,
    now: Date,
    leaseMs: number,
  ): Promise<TranscriptAhead | 'busy'> {
    return this.locked(id, async (lock) => {
      const current = await this.docs().findOne({ _id: id }, lock.statement());
      if (current?.holder && current.held_until && current.held_until > now) return 'busy';
      const held = { holder: token, held_until: new Date(now.getTime() + leaseMs) };
      if (!current) {
        const fresh: TranscriptAhead = {
          _id: id,
          ...owner,
          pieces: [],
          working: null,
          looked_at_bytes: 0,
          looked_at_seconds: 0,
          stopped: false,
          ...held,
        };
        // two first looks at once (MongoDB, where the lock is a no-op): one insert wins
        try {
          await this.docs().insertOne(fresh);
          return fresh;
        } catch (error) {
          if ((error as { code?: number }).code === 11000) return 'busy';
          throw error;
        }
      }
      // a lapsed holder's piece is no longer being sent; the filter names it, so two takers never both win
      const taken = await this.fenced({ _id: id, holder: current.holder }, { ...held, working: null }, lock);
      return taken ? { ...current, ...held, working: null } : 'busy';
    });
  }

  /** Whether `token` still held it (and now holds it until `until`). */
  renew(id: ObjectId, token: string, until: Date): Promise<boolean> {
    return this.locked(id, (lock) => this.fenced({ _id: id, holder: token }, { held_until: until }, lock));
  }

  /** Records what the holder `token` found or did; false when it no longer holds the document. */
  record(
    id: ObjectId,
    token: string,
    change: Partial<Pick<TranscriptAhead, 'working' | 'looked_at_bytes' | 'looked_at_seconds' | 'stopped'>>,
  ): Promise<boolean> {
    return this.locked(id, (lock) => this.fenced({ _id: id, holder: token }, change, lock));
  }

  /** Adds a transcribed piece (the one being sent) as the holder `token`; false when it lost it. */
  addPiece(id: ObjectId, token: string, piece: AheadPiece): Promise<boolean> {
    return this.locked(id, async (lock) => {
      const filter = { _id: id, holder: token };
      const update = { $push: { pieces: piece }, $set: { working: null } };
      return (await this.docs().findOneAndUpdate(filter, update, lock.statement())) !== null;
    });
  }

  release(id: ObjectId, token: string): Promise<boolean> {
    return this.locked(id, (lock) =>
      this.fenced({ _id: id, holder: token }, { holder: null, held_until: null, working: null }, lock),
    );
  }

  /** Removes it: its upload went, or its answer holds the pieces now. Under the lock its holders write with. */
  async remove(id: ObjectId): Promise<void> {
    await this.locked(id, (lock) => this.docs().findOneAndDelete({ _id: id }, lock.statement()));
  }

  /** Removes a session's (its erasure). */
  async removeOfSession(sessionId: ObjectId): Promise<number> {
    return (await this.docs().deleteMany({ session_id: sessionId })).deletedCount;
  }

  /** A batch of ids, in order after `after`, for the cleanup to check. */
  async ids(batchSize: number, after: ObjectId | null): Promise<ObjectId[]> {
    const rows = await this.docs()
      .find(after ? { _id: { $gt: after } } : {}, { projection: { _id: 1 }, sort: { _id: 1 }, limit: batchSize })
      .toArray();
    return rows.map((r) => r._id);
  }

  private async fenced(filter: Filter<TranscriptAhead>, set: Partial<TranscriptAhead>, lock: LockLease) {
    return (await this.docs().findOneAndUpdate(filter, { $set: set }, lock.statement())) !== null;
  }
}
