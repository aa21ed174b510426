import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { Binary, ObjectId, type Filter } from 'mongodb';
import type { Connection } from 'mongoose';
import { DocumentLocks, type LockLease } from '../database/document-locks.js';
import { ensureCollection } from '../database/ensure-collection.js';
import { AUDIO_BUCKET, type AnswerAudioMetadata } from './answer-audio.store.js';
import { TRANSCRIPTS_AHEAD } from './transcripts-ahead.documents.js';
import { removableBy, type UploadRemover } from './upload-remover.js';

import {
  HEAD_FIELDS,
  RESUMABLE_UPLOADS,
  type LeaseOutcome,
  type ResumableUpload,
  type UploadHead,
  type UploadProgress,
} from './resumable-upload.schema.js';

/**
 * All database I/O of resumable uploads: their documents in `resumable_uploads`, and the GridFS
 * chunks and files document they write. A write that changes who holds an upload, or that must only
 * land while its writer still holds it, runs under the document lock (FerretDB applies conditional
 * updates non-atomically) and names the holder's token in its filter (the fence).
 */
@Injectable()
export class ResumableUploadDocuments implements OnModuleInit {
  private readonly logger = new Logger(ResumableUploadDocuments.name);

  constructor(
    @InjectConnection() private readonly connection: Connection,
    private readonly locks: DocumentLocks,
  ) {}

  async onModuleInit(): Promise<void> {
    const db = this.connection.db;
    if (!db) return;
    await ensureCollection(db, RESUMABLE_UPLOADS, [{ key: { expires_at: 1 } }, { key: { session_id: 1 } }]).catch(
      (error: Error) => this.logger.warn(`could not create ${RESUMABLE_UPLOADS}: ${error.message}`),
    );
  }

  private uploads() {
    return this.connection.db!.collection<ResumableUpload>(RESUMABLE_UPLOADS);
  }

  private chunks() {
    return this.connection.db!.collection(`${AUDIO_BUCKET}.chunks`);
  }

  private files() {
    return this.connection.db!.collection(`${AUDIO_BUCKET}.files`);
  }

  private locked<T>(id: ObjectId, work: (lock: LockLease) => Promise<T>): Promise<T> {
    return this.locks.withLock(`${RESUMABLE_UPLOADS}:${id.toHexString()}`, work);
  }

  async create(upload: ResumableUpload): Promise<void> {
    await this.uploads().insertOne(upload);
  }

  get(id: ObjectId): Promise<ResumableUpload | null> {
    return this.uploads().findOne({ _id: id });
  }

  /** The fields HEAD answers with, in one small read. */
  head(id: ObjectId): Promise<UploadHead | null> {
    return this.uploads().findOne<UploadHead>({ _id: id }, { projection: HEAD_FIELDS });
  }

  /** Whether the upload's GridFS files document is there (written when its last byte came in). */
  async hasFilesDocument(id: ObjectId): Promise<boolean> {
    const files = this.connection.db!.collection(`${AUDIO_BUCKET}.files`);
    return (await files.findOne({ _id: id }, { projection: { _id: 1 } })) !== null;
  }

  /** Takes the upload for `token` unless another holder's lease is still running. */
  acquire(id: ObjectId, token: string, now: Date, leaseMs: number): Promise<LeaseOutcome> {
    return this.locked(id, async (lock) => {
      const current = await this.uploads().findOne(
        { _id: id },
        { projection: { lease_owner: 1, lease_until: 1 }, ...lock.statement() },
      );
      if (!current) return 'missing';
      if (current.lease_owner && current.lease_until && current.lease_until > now) return 'busy';
      const taken = await this.fencedUpdate(
        { _id: id },
        { lease_owner: token, lease_until: new Date(now.getTime() + leaseMs) },
        lock,
      );
      return taken ? 'held' : 'missing'; // removed in between (possible where the lock is a no-op)
    });
  }

  /** Whether `token` still held the upload (and now holds it until `until`). */
  renew(id: ObjectId, token: string, until: Date): Promise<boolean> {
    return this.locked(id, (lock) => this.fencedUpdate({ _id: id, lease_owner: token }, { lease_until: until }, lock));
  }

  release(id: ObjectId, token: string): Promise<void> {
    return this.locked(id, async (lock) => {
      await this.fencedUpdate({ _id: id, lease_owner: token }, { lease_owner: null, lease_until: null }, lock);
    });
  }

  /**
   * Records progress as the holder `token`; false when the upload was taken over (or is gone), in
   * which case the caller stops writing.
   */
  recordProgress(id: ObjectId, token: string, progress: UploadProgress): Promise<boolean> {
    const { tail, hash_state, ...rest } = progress;
    const set: Record<string, unknown> = { ...rest };
    if (tail) set.tail = new Binary(tail);
    if (hash_state) set.hash_state = new Binary(hash_state);
    return this.locked(id, (lock) => this.fencedUpdate({ _id: id, lease_owner: token }, set, lock));
  }

  /**
   * Sets the length of an upload created without one (tus creation-defer-length), as the holder
   * `token`, once: false when the upload was taken over, is gone, or has a length already.
   */
  declareLength(id: ObjectId, token: string, size: number): Promise<boolean> {
    return this.locked(id, (lock) => this.fencedUpdate({ _id: id, lease_owner: token, size: null }, { size }, lock));
  }

  /**
   * One `$set` under the document lock, bounded by what its lease has left. A findAndModify, the one
   * write FerretDB bounds by maxTimeMS (it ignores it on update; see DocumentLocks), and cheap here:
   * an upload's document is its tail and a few fields. Whether it matched.
   */
  private async fencedUpdate(filter: Filter<ResumableUpload>, set: Record<string, unknown>, lock: LockLease) {
    // no projection: FerretDB 1.x refuses findAndModify's `fields` as unimplemented
    return (await this.uploads().findOneAndUpdate(filter, { $set: set }, lock.statement())) !== null;
  }

  /**
   * Consecutive chunks from index `firstN` on, in one round trip, each naming the writer (its lease
   * token) so that chunks a writer stored but never recorded can be told from another writer's.
   */
  async insertChunks(id: ObjectId, writer: string, firstN: number, chunks: Buffer[]): Promise<void> {
    await this.chunks().insertMany(
      chunks.map((data, i) => ({ files_id: id, n: firstN + i, data: new Binary(data), writer })),
      { ordered: true },
    );
  }

  /**
   * Removes the chunks from `firstN` on that other writers stored and never recorded (a crash, or a
   * lease lost mid-request), for the holder `token`; false when `token` no longer holds the upload.
   * Only chunks of writers that stopped holding it before `token` took it are removed (by their
   * token), so this is safe however long the delete runs: a later holder's chunks carry its own.
   * Rare (after a crash), and a scan of fs.chunks on FerretDB.
   */
  async discardUnrecorded(id: ObjectId, token: string, firstN: number): Promise<boolean> {
    const writers = (await this.chunks().distinct('writer', { files_id: id, n: { $gte: firstN } })) as unknown[];
    const holder = await this.uploads().findOne({ _id: id }, { projection: { lease_owner: 1 } });
    if (holder?.lease_owner !== token) return false;
    const stale = [...writers.filter((w) => w !== token), null]; // null: chunks of writers from before the tag
    const { deletedCount } = await this.chunks().deleteMany({
      files_id: id,
      n: { $gte: firstN },
      writer: { $in: stale },
    });
    this.logger.warn(
      `upload ${id.toHexString()}: removed ${deletedCount} chunk(s) from ${firstN} on left unrecorded by a stopped writer`,
    );
    return true;
  }

  /**
   * Feeds the upload's first `chunkCount` chunks, in order, to `visit` (to hash them again when no
   * saved hash state can be used); throws when one is missing.
   */
  async readChunks(id: ObjectId, chunkCount: number, visit: (data: Uint8Array) => void): Promise<void> {
    for await (const data of this.storedChunks(id, chunkCount)) visit(data);
  }

  /** The upload's first `chunkCount` chunks, in order, a few per round trip; throws when one is missing. */
  async *storedChunks(id: ObjectId, chunkCount: number): AsyncGenerator<Uint8Array> {
    if (chunkCount === 0) return;
    let expected = 0;
    const cursor = this.chunks().find(
      { files_id: id, n: { $lt: chunkCount } },
      { sort: { n: 1 }, batchSize: 4, projection: { n: 1, data: 1 } },
    );
    try {
      for await (const chunk of cursor) {
        if (chunk.n !== expected) throw new Error(`chunk ${expected} of upload ${id.toHexString()} is missing`);
        expected++;
        yield (chunk.data as Binary).buffer;
      }
    } finally {
      await cursor.close();
    }
    if (expected !== chunkCount) throw new Error(`upload ${id.toHexString()} has ${expected} of ${chunkCount} chunks`);
  }

  /**
   * Makes the chunks a GridFS file (as GridFSBucket would on its last chunk) for the holder `token`;
   * false, with nothing written, once it no longer holds the upload. Under the lock a removal takes
   * (on MongoDB none is: a removal between the two statements leaves an orphan file, which the
   * cleanup removes): a removed upload never becomes a file, and a file written first is found.
   */
  writeFilesDocument(
    id: ObjectId,
    token: string,
    file: { length: number; chunkSize: number; filename: string; metadata: AnswerAudioMetadata },
  ): Promise<boolean> {
    return this.locked(id, async (lock) => {
      const held = await this.uploads().findOne(
        { _id: id, lease_owner: token },
        { projection: { _id: 1 }, ...lock.statement() },
      );
      if (!held) return false;
      // a replace, so that a completion cut off after this write and done again writes it again
      const { length, chunkSize, filename, metadata } = file;
      const document = { length, chunkSize, uploadDate: metadata.upload_date, filename, metadata };
      await this.files().findOneAndReplace({ _id: id }, document, { upsert: true, ...lock.statement() });
      return true;
    });
  }

  /**
   * Removes the upload if `by` may (see UploadRemover); null when not. Its document goes first, in
   * one conditional delete under the lock its writers take (FerretDB's own is not atomic): no write
   * of theirs lands after it. Then its chunks and any files document. A crash in between, or a late
   * chunk insert of a writer that lost it, leaves orphan chunks, which the cleanup removes.
   */
  async remove(id: ObjectId, by: UploadRemover): Promise<{ chunks: number } | null> {
    const filter = { _id: id, ...removableBy(by) };
    const removed = await this.locked(id, (lock) => this.uploads().findOneAndDelete(filter, lock.statement()));
    return removed ? { chunks: await this.deleteStored(id) } : null;
  }

  /** What a removed upload stored: its chunks, then its files document; how many chunks. */
  private async deleteStored(id: ObjectId): Promise<number> {
    const { deletedCount } = await this.chunks().deleteMany({ files_id: id });
    await this.files().deleteOne({ _id: id });
    // what was transcribed of it while it grew goes with it
    await this.connection.db!.collection(TRANSCRIPTS_AHEAD).deleteOne({ _id: id });
    return deletedCount;
  }

  /** The uploads of a session, finished or not. */
  async idsOfSession(sessionId: ObjectId): Promise<ObjectId[]> {
    const rows = await this.uploads()
      .find({ session_id: sessionId }, { projection: { _id: 1 } })
      .toArray();
    return rows.map((r) => r._id);
  }

  /** Drops the document of a complete upload that expired before `before` (its chunks are a file). */
  async forgetFinished(id: ObjectId, before: Date): Promise<void> {
    const filter = { _id: id, complete: true, expires_at: { $lt: before } };
    await this.locked(id, (lock) => this.uploads().findOneAndDelete(filter, lock.statement()));
  }

  /**
   * Deletes the chunks of an upload gone without becoming a file. Its document is asked first, the
   * files document then (a completion writes that while its document exists, and drops it after).
   */
  async dropIfAbandoned(id: ObjectId): Promise<number> {
    if ((await this.uploads().countDocuments({ _id: id }, { limit: 1 })) > 0) return 0;
    if ((await this.files().countDocuments({ _id: id }, { limit: 1 })) > 0) return 0;
    return (await this.chunks().deleteMany({ files_id: id })).deletedCount;
  }

  /** Drops the upload's document only (its chunks now belong to a GridFS file). */
  async forget(id: ObjectId): Promise<void> {
    await this.locked(id, (lock) => this.uploads().findOneAndDelete({ _id: id }, lock.statement()));
  }

  /** Uploads whose expiry has passed, a batch at a time in id order (after `after`). */
  expired(now: Date, batchSize: number, after: ObjectId | null = null) {
    const filter: Filter<ResumableUpload> = { expires_at: { $lt: now }, ...(after ? { _id: { $gt: after } } : {}) };
    const projection = { _id: 1, complete: 1, expires_at: 1 };
    return this.uploads()
      .find(filter, { projection, sort: { _id: 1 }, limit: batchSize })
      .toArray();
  }

  /** Which of these GridFS file ids belong to an upload still known here (its chunks are not orphans). */
  async knownIds(ids: ObjectId[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.uploads()
      .find({ _id: { $in: ids } }, { projection: { _id: 1 } })
      .toArray();
    return new Set(rows.map((r) => r._id.toHexString()));
  }
}
