import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { Binary, ObjectId } from 'mongodb';
import type { Connection } from 'mongoose';
import { Sha256Meter } from '../common/sha256-meter.js';
import { DocumentLocks } from '../database/document-locks.js';
import { ensureCollection } from '../database/ensure-collection.js';
import { AUDIO_BUCKET, type AnswerAudioMetadata } from './answer-audio.store.js';

export const RESUMABLE_UPLOADS = 'resumable_uploads';

/**
 * An unfinished resumable upload. Its full chunks are already GridFS chunks (`files_id` = `_id`,
 * `n` = index); only the bytes after the last full chunk (`tail`, shorter than a chunk, or the
 * audio head while its format is not yet recognised) live here. `offset` = next_n * chunk_size +
 * tail length, always: it is written in one update with the chunk count it covers.
 */
export interface ResumableUpload {
  _id: ObjectId;
  user_id: string;
  session_id: ObjectId;
  question_id: string;
  size: number;
  offset: number;
  next_n: number;
  chunk_size: number;
  tail: Binary;
  metadata: Record<string, string | null>;
  format: { extension: string; content_type: string } | null;
  created_at: Date;
  expires_at: Date;
  /** Set once the last byte is in and the GridFS files document is written. */
  complete: boolean;
  sha256: string | null;
  /** The answer id the files document names, chosen when the upload completed. */
  answer_id: string | null;
  lease_owner: string | null;
  lease_until: Date | null;
}

export type LeaseOutcome = 'held' | 'busy' | 'missing';

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
    await ensureCollection(db, RESUMABLE_UPLOADS, [{ key: { expires_at: 1 } }]).catch((error: Error) =>
      this.logger.warn(`could not create ${RESUMABLE_UPLOADS}: ${error.message}`),
    );
  }

  private uploads() {
    return this.connection.db!.collection<ResumableUpload>(RESUMABLE_UPLOADS);
  }

  private chunks() {
    return this.connection.db!.collection(`${AUDIO_BUCKET}.chunks`);
  }

  private locked<T>(id: ObjectId, work: () => Promise<T>): Promise<T> {
    return this.locks.withLock(`${RESUMABLE_UPLOADS}:${id.toHexString()}`, work);
  }

  async create(upload: ResumableUpload): Promise<void> {
    await this.uploads().insertOne(upload);
  }

  get(id: ObjectId): Promise<ResumableUpload | null> {
    return this.uploads().findOne({ _id: id });
  }

  /** Takes the upload for `token` unless another holder's lease is still running. */
  acquire(id: ObjectId, token: string, now: Date, leaseMs: number): Promise<LeaseOutcome> {
    return this.locked(id, async () => {
      const current = await this.uploads().findOne({ _id: id }, { projection: { lease_owner: 1, lease_until: 1 } });
      if (!current) return 'missing';
      if (current.lease_owner && current.lease_until && current.lease_until > now) return 'busy';
      await this.uploads().updateOne(
        { _id: id },
        { $set: { lease_owner: token, lease_until: new Date(now.getTime() + leaseMs) } },
      );
      return 'held';
    });
  }

  /** Whether `token` still held the upload (and now holds it until `until`). */
  renew(id: ObjectId, token: string, until: Date): Promise<boolean> {
    return this.locked(id, async () => {
      const result = await this.uploads().updateOne({ _id: id, lease_owner: token }, { $set: { lease_until: until } });
      return result.matchedCount === 1;
    });
  }

  release(id: ObjectId, token: string): Promise<void> {
    return this.locked(id, async () => {
      await this.uploads().updateOne(
        { _id: id, lease_owner: token },
        { $set: { lease_owner: null, lease_until: null } },
      );
    });
  }

  /**
   * Records progress as the holder `token`; false when the upload was taken over (or is gone), in
   * which case the caller stops writing.
   */
  recordProgress(
    id: ObjectId,
    token: string,
    progress: Partial<
      Pick<ResumableUpload, 'offset' | 'next_n' | 'format' | 'complete' | 'sha256' | 'answer_id' | 'lease_until'>
    > & {
      tail?: Buffer;
    },
  ): Promise<boolean> {
    const { tail, ...rest } = progress;
    const set: Record<string, unknown> = { ...rest };
    if (tail) set.tail = new Binary(tail);
    return this.locked(id, async () => {
      const result = await this.uploads().updateOne({ _id: id, lease_owner: token }, { $set: set });
      return result.matchedCount === 1;
    });
  }

  /** Chunks from `n` on were written by a writer that never recorded them: they go before writing on. */
  async discardChunksFrom(id: ObjectId, n: number): Promise<void> {
    await this.chunks().deleteMany({ files_id: id, n: { $gte: n } });
  }

  /** Consecutive chunks from index `firstN` on, in one round trip. */
  async insertChunks(id: ObjectId, firstN: number, chunks: Buffer[]): Promise<void> {
    await this.chunks().insertMany(
      chunks.map((data, i) => ({ files_id: id, n: firstN + i, data: new Binary(data) })),
      { ordered: true },
    );
  }

  /**
   * SHA-256 and length of the upload's chunks, read back in order a few at a time; throws when a
   * chunk is missing, so that a file is only ever declared complete over exactly its bytes.
   */
  async hashChunks(id: ObjectId, chunkCount: number): Promise<{ sha256: string; bytes: number }> {
    const meter = new Sha256Meter();
    let expected = 0;
    const cursor = this.chunks().find(
      { files_id: id },
      { sort: { n: 1 }, batchSize: 4, projection: { n: 1, data: 1 } },
    );
    for await (const chunk of cursor) {
      if (chunk.n !== expected) throw new Error(`chunk ${expected} of upload ${id.toHexString()} is missing`);
      expected++;
      meter.update((chunk.data as Binary).buffer);
    }
    if (expected !== chunkCount) throw new Error(`upload ${id.toHexString()} has ${expected} of ${chunkCount} chunks`);
    return { sha256: meter.digest(), bytes: meter.bytes };
  }

  /** Makes the chunks a GridFS file, as GridFSBucket's upload stream would have on its last chunk. */
  async writeFilesDocument(
    id: ObjectId,
    file: { length: number; chunkSize: number; filename: string; metadata: AnswerAudioMetadata },
  ): Promise<void> {
    // a replace, so that a completion cut off after this write and done again writes it again
    await this.connection.db!.collection(`${AUDIO_BUCKET}.files`).replaceOne(
      { _id: id },
      {
        length: file.length,
        chunkSize: file.chunkSize,
        uploadDate: file.metadata.upload_date,
        filename: file.filename,
        metadata: file.metadata,
      },
      { upsert: true },
    );
  }

  /** Removes an unfinished upload: its chunks first, then its document (a crash between leaves the document, so it is found again). */
  async removeUnfinished(id: ObjectId): Promise<number> {
    const { deletedCount } = await this.chunks().deleteMany({ files_id: id });
    await this.forget(id);
    return deletedCount;
  }

  /** Drops the upload's document only (its chunks now belong to a GridFS file). */
  async forget(id: ObjectId): Promise<void> {
    await this.locked(id, () => this.uploads().deleteOne({ _id: id }));
  }

  /** Uploads whose expiry has passed, a batch at a time. */
  expired(now: Date, batchSize: number): Promise<Pick<ResumableUpload, '_id' | 'complete'>[]> {
    return this.uploads()
      .find({ expires_at: { $lt: now } }, { projection: { _id: 1, complete: 1 }, limit: batchSize })
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
