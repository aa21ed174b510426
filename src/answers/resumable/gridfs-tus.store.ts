import { DataStore, Upload } from '@tus/utils';
import { Binary, ObjectId } from 'mongodb';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ResumableUpload, ResumableUploadDocuments } from '../../audio/resumable-upload.documents.js';
import { ResumableUploadRemovals } from '../../audio/resumable-upload.removals.js';
import type { Clock } from '../../database/clock.js';
import { isTusError, tusError } from './tus-errors.js';
import { ChunkBuffers, UploadChunkWriter, type UploadFormat } from './upload-chunk-writer.js';
import { UPLOAD_BUSY, type UploadLeaseLocker } from './upload-lease.locker.js';
import { UploadSha256 } from './upload-sha256.js';

/**
 * Within a request, progress is recorded (and so survives a crash of the server) at least every this
 * many bytes of stored chunks; every request's end is recorded before it is answered, so an offset
 * a client was told is always durable. Each record costs a document lock (3 round trips on FerretDB).
 */
const RECORD_EVERY_BYTES = 8 * 1024 * 1024;
/** Full chunks are inserted about this many bytes at a time; two such batches are held at most. */
const BATCH_BYTES = 1024 * 1024;

export const UPLOAD_NOT_FOUND = 'No unfinished upload with this id exists for your account; create a new one.';

export interface GridFsTusStoreOptions {
  chunkSizeBytes: number;
  expiryMs: number;
}

export function uploadObjectId(id: string): ObjectId | null {
  return /^[0-9a-f]{24}$/.test(id) ? new ObjectId(id) : null;
}

/**
 * A tus DataStore over GridFS. Bytes become GridFS chunks (files_id = the upload's id, n = index)
 * as they arrive (UploadChunkWriter); only the unfinished tail chunk is kept, in the upload's
 * document, with the saved SHA-256 state of the chunks before it. Neither memory (beyond two small
 * batches of chunks) nor local disk ever holds the file, and nothing is read back: when the last
 * byte is in, the GridFS files document is written with the SHA-256 of exactly the bytes stored, and
 * from then on the upload is an ordinary stored recording, which onUploadFinish hands to the intake.
 */
export class GridFsTusStore extends DataStore {
  /** Two batches and the chunk being filled: one request at a time writes without a new allocation. */
  private readonly buffers = new ChunkBuffers(2 * BATCH_BYTES);
  constructor(
    private readonly documents: ResumableUploadDocuments,
    private readonly locker: UploadLeaseLocker,
    private readonly clock: Clock,
    private readonly options: GridFsTusStoreOptions,
  ) {
    super();
    this.extensions = ['creation', 'termination', 'expiration'];
  }

  override async create(upload: Upload): Promise<Upload> {
    const id = uploadObjectId(upload.id)!;
    const metadata = upload.metadata ?? {};
    const now = this.clock.now();
    await this.documents.create({
      _id: id,
      user_id: String(metadata.user_id),
      session_id: new ObjectId(String(metadata.session_id)),
      question_id: String(metadata.question_id),
      size: upload.size!,
      offset: 0,
      next_n: 0,
      chunk_size: this.options.chunkSizeBytes,
      tail: new Binary(Buffer.alloc(0)),
      hash_state: null,
      metadata,
      format: null,
      created_at: now,
      expires_at: new Date(now.getTime() + this.options.expiryMs),
      complete: false,
      sha256: null,
      answer_id: null,
      lease_owner: null,
      lease_until: null,
    });
    upload.creation_date = now.toISOString();
    return upload;
  }

  override async getUpload(id: string): Promise<Upload> {
    const doc = await this.find(id);
    return new Upload({
      id,
      size: doc.size,
      offset: doc.complete ? doc.size : doc.offset,
      metadata: doc.metadata,
      creation_date: doc.created_at.toISOString(),
    });
  }

  /** Termination, by the request that holds the upload (its lease): never a complete one. */
  override async remove(id: string): Promise<void> {
    const doc = await this.find(id);
    if (doc.complete) throw tusError(404, UPLOAD_NOT_FOUND);
    const token = this.locker.tokenFor(id);
    if (!token || !(await this.documents.remove(doc._id, { holder: token }))) {
      throw await this.refusalForLost(doc._id, tusError(423, UPLOAD_BUSY));
    }
  }

  override getExpiration(): number {
    return this.options.expiryMs;
  }

  /** The cleanup removes expired uploads (AudioCleanup); this serves @tus/server's own call, with the same care. */
  override async deleteExpired(): Promise<number> {
    const removed = await new ResumableUploadRemovals(this.documents).removeExpired(this.clock.now(), null, 1000);
    return removed.uploads;
  }

  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    const doc = await this.find(id);
    const token = this.locker.tokenFor(id);
    if (!token) throw tusError(423, UPLOAD_BUSY);
    if (doc.complete || doc.offset !== offset)
      throw tusError(409, `The upload is at byte ${doc.offset}; send from there.`);
    try {
      const hash = await this.hashOfStoredChunks(doc);
      const writer = new UploadChunkWriter(this.documents, doc, token, hash, this.buffers, {
        batchBytes: BATCH_BYTES,
        recordEveryBytes: RECORD_EVERY_BYTES,
      });
      const outcome = await writer.write(stream);
      if (outcome.complete) await this.complete(doc, token, hash.digest(), outcome.chunkCount, outcome.format);
      return outcome.offset;
    } catch (error) {
      throw isTusError(error) && error.status_code === 423 ? await this.refusalForLost(doc._id, error) : error;
    }
  }

  /**
   * A request lost the upload it held: `refusal` when another request took it over (423), but when
   * it was removed meanwhile (its session erased, or it expired while this request could not renew
   * its lease), 404, and the chunks this request stored after the removal are deleted with it.
   */
  private async refusalForLost(id: ObjectId, refusal: unknown): Promise<unknown> {
    try {
      if (await this.documents.get(id)) return refusal;
      await this.documents.dropIfAbandoned(id);
      return tusError(404, UPLOAD_NOT_FOUND);
    } catch {
      return refusal; // the cleanup removes what is left (orphan chunks)
    }
  }

  /** The hash of the chunks already stored: from the saved state, or (uploads begun before it was kept) read again. */
  private async hashOfStoredChunks(doc: ResumableUpload): Promise<UploadSha256> {
    const bytes = doc.next_n * doc.chunk_size;
    const saved = doc.hash_state ? await UploadSha256.resume(doc.hash_state.buffer, bytes) : null;
    if (saved) return saved;
    const hash = await UploadSha256.start();
    await this.documents.readChunks(doc._id, doc.next_n, (data) => hash.update(data));
    if (hash.bytes !== bytes) throw new Error(`upload ${doc._id.toHexString()} holds ${hash.bytes} of ${bytes} bytes`);
    return hash;
  }

  /** The last byte is in: write the files document, mark the upload complete with the SHA-256 of the chunks stored. */
  private async complete(
    doc: ResumableUpload,
    token: string,
    sha256: string,
    chunkCount: number,
    format: UploadFormat,
  ): Promise<void> {
    const answerId = randomUUID();
    const written = await this.documents.writeFilesDocument(doc._id, token, {
      length: doc.size,
      chunkSize: doc.chunk_size,
      filename: `${String(doc.session_id)}-${doc.question_id}.${format.extension}`,
      metadata: {
        session_id: doc.session_id,
        question_id: doc.question_id,
        user_id: doc.user_id,
        answer_id: answerId,
        content_type: format.content_type,
        upload_date: this.clock.now(),
        status: 'queued',
        sha256,
        size_bytes: doc.size,
      },
    });
    if (!written) throw tusError(423, UPLOAD_BUSY);
    const still = await this.documents.recordProgress(doc._id, token, {
      offset: doc.size,
      next_n: chunkCount,
      tail: Buffer.alloc(0),
      format,
      complete: true,
      sha256,
      answer_id: answerId,
    });
    if (!still) throw tusError(423, UPLOAD_BUSY);
  }

  private async find(id: string): Promise<ResumableUpload> {
    const objectId = uploadObjectId(id);
    const doc = objectId ? await this.documents.get(objectId) : null;
    if (!doc) throw tusError(404, UPLOAD_NOT_FOUND);
    return doc;
  }
}
