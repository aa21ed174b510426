import { Logger } from '@nestjs/common';
import { DataStore, Upload } from '@tus/utils';
import { Binary, ObjectId } from 'mongodb';
import type { Readable } from 'node:stream';
import type { ResumableUploadDocuments } from '../../audio/resumable-upload.documents.js';
import type { ResumableUpload, UploadHead } from '../../audio/resumable-upload.schema.js';
import { ResumableUploadRemovals } from '../../audio/resumable-upload.removals.js';
import type { Clock } from '../../database/clock.js';
import { COMPLETION_PENDING, isTusError, tusError } from './tus-errors.js';
import { currentTusRequest } from './tus-request.js';
import { ChunkBuffers } from './chunk-buffers.js';
import { UploadChunkWriter } from './upload-chunk-writer.js';
import type { UploadAcceptedView } from '../dto/answer-views.dto.js';
import type { UploadCompletion } from './upload-completion.js';
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
const ALREADY_COMPLETE = (size: number) =>
  `This upload is complete: all ${size} bytes are in. Ask with HEAD, or send an empty PATCH at Upload-Offset ${size}, to confirm it.`;

export interface GridFsTusStoreOptions {
  chunkSizeBytes: number;
  expiryMs: number;
  /** Told after each PATCH that stored bytes and left the upload unfinished. */
  onGrew?: (upload: ResumableUpload, offset: number) => void;
}

export function uploadObjectId(id: string): ObjectId | null {
  return /^[0-9a-f]{24}$/.test(id) ? new ObjectId(id) : null;
}

/**
 * A tus DataStore over GridFS. Bytes become GridFS chunks (files_id = the upload's id, n = index)
 * as they arrive (UploadChunkWriter); only the unfinished tail chunk is kept, in the upload's
 * document, with the saved SHA-256 state of the chunks before it. Neither memory (beyond two small
 * batches of chunks) nor local disk ever holds the file, and nothing is read back. When the last byte
 * is in, UploadCompletion makes it the answer, within the same request and under its lease; an
 * upload a failure left complete but not yet the answer is finished by the next HEAD (under a lease
 * of its own) or PATCH at its full length.
 */
export class GridFsTusStore extends DataStore {
  private readonly logger = new Logger(GridFsTusStore.name);
  /** Two batches and the chunk being filled: one request at a time writes without a new allocation. */
  private readonly buffers = new ChunkBuffers(2 * BATCH_BYTES);
  constructor(
    private readonly documents: ResumableUploadDocuments,
    private readonly locker: UploadLeaseLocker,
    private readonly completion: UploadCompletion,
    private readonly clock: Clock,
    private readonly options: GridFsTusStoreOptions,
  ) {
    super();
    this.extensions = ['creation', 'creation-defer-length', 'termination', 'expiration'];
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
      size: upload.size ?? null, // null: deferred (Upload-Defer-Length: 1), declared by a later PATCH
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

  /**
   * The upload as HEAD and PATCH see it, from the owner check's read when there was one. A HEAD
   * that finds it complete (a completion cut short) finishes it first: 200 at its full length once
   * it is the answer, 404 once it was refused and removed, 423 while it cannot be finished yet. A
   * HEAD while another request writes it answers 423 too: the offset is about to move (a client
   * resuming from it would send bytes for nothing and get a 409).
   */
  override async getUpload(id: string): Promise<Upload> {
    const request = currentTusRequest();
    let upload = request?.upload?._id.toHexString() === id ? request.upload : await this.head(id);
    if (request?.method === 'HEAD') {
      if (upload.complete) upload = await this.finishForHead(id);
      else if (upload.lease_owner && upload.lease_until && upload.lease_until > this.clock.now()) {
        throw tusError(423, UPLOAD_BUSY);
      }
    }
    return new Upload({
      id,
      size: upload.size ?? undefined, // undefined: deferred, and HEAD answers Upload-Defer-Length: 1
      offset: upload.complete && upload.size !== null ? upload.size : upload.offset,
      metadata: upload.metadata,
      creation_date: upload.created_at.toISOString(),
    });
  }

  /**
   * A PATCH brought Upload-Length for an upload created without one (@tus/server has checked it is
   * not below the offset nor above MAX_UPLOAD_BYTES), before its bytes are written: a cut-off after
   * this leaves an upload of known length, resumed as any other.
   */
  override async declareUploadLength(id: string, size: number): Promise<void> {
    const token = this.locker.tokenFor(id);
    const objectId = uploadObjectId(id);
    if (!token || !objectId || !(await this.documents.declareLength(objectId, token, size))) {
      throw await this.refusalForLost(objectId!, tusError(423, UPLOAD_BUSY));
    }
  }

  /** Termination, by the request that holds the upload (its lease): never a complete one. */
  override async remove(id: string): Promise<void> {
    const upload = await this.head(id);
    if (upload.complete) throw notFound();
    const token = this.locker.tokenFor(id);
    if (!token || !(await this.documents.remove(upload._id, { holder: token }))) {
      throw await this.refusalForLost(upload._id, tusError(423, UPLOAD_BUSY));
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
    try {
      if (doc.complete) {
        // a completion cut short: an empty PATCH at the full length finishes it
        const size = doc.size!; // a complete upload's length is known
        if (offset !== size) throw tusError(409, ALREADY_COMPLETE(size));
        await this.finishing(() => this.completion.finish(doc, token));
        return size;
      }
      if (doc.offset !== offset) throw tusError(409, `The upload is at byte ${doc.offset}; send from there.`);
      const hash = await this.hashOfStoredChunks(doc);
      const writer = new UploadChunkWriter(this.documents, doc, token, hash, this.buffers, {
        batchBytes: BATCH_BYTES,
        recordEveryBytes: RECORD_EVERY_BYTES,
      });
      const outcome = await writer.write(stream);
      if (outcome.complete) {
        const done = { sha256: hash.digest(), chunkCount: outcome.chunkCount, format: outcome.format };
        await this.finishing(() => this.completion.complete(doc, token, done));
      } else if (outcome.offset > offset) {
        this.options.onGrew?.(doc, outcome.offset);
      }
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
      if (await this.documents.head(id)) return refusal;
      await this.documents.dropIfAbandoned(id);
      return notFound();
    } catch {
      return refusal; // the cleanup removes what is left (orphan chunks)
    }
  }

  /**
   * Runs a completion and keeps its 202 body for onUploadFinish. A refusal is passed on; any other
   * failure leaves what is stored for the next try, and the client is told to come back (503).
   */
  private async finishing(work: () => Promise<UploadAcceptedView>): Promise<void> {
    try {
      const accepted = await work();
      const request = currentTusRequest();
      if (request) request.accepted = accepted;
    } catch (error) {
      if (isTusError(error)) throw error;
      throw new CompletionPending(error);
    }
  }

  /** HEAD found the upload complete: finish it under a lease of its own, as a PATCH would. */
  private async finishForHead(id: string): Promise<UploadHead> {
    const lock = this.locker.newLock(id);
    try {
      await lock.lock(new AbortController().signal, () => undefined);
      const token = this.locker.tokenFor(id);
      if (!token) throw notFound(); // gone meanwhile
      const doc = await this.find(id);
      if (doc.complete) await this.completion.finish(doc, token);
      return doc;
    } catch (error) {
      // refused: the upload was removed; busy, or the database failed: ask again (tus clients retry a 423)
      if (isTusError(error) && error.status_code < 500 && error.status_code !== 423) throw notFound();
      if (!isTusError(error)) this.logger.warn(`upload ${id}: finishing it failed: ${(error as Error).message}`);
      // a lease lost to a removal (its session erased) is a 404, as for a PATCH
      throw await this.refusalForLost(uploadObjectId(id)!, tusError(423, COMPLETION_PENDING));
    } finally {
      await lock.unlock();
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

  private async head(id: string): Promise<UploadHead> {
    const objectId = uploadObjectId(id);
    const upload = objectId ? await this.documents.head(objectId) : null;
    if (!upload) throw notFound();
    return upload;
  }

  private async find(id: string): Promise<ResumableUpload> {
    const objectId = uploadObjectId(id);
    const doc = objectId ? await this.documents.get(objectId) : null;
    if (!doc) throw notFound();
    return doc;
  }
}

const notFound = () => tusError(404, UPLOAD_NOT_FOUND);

/** A completion that failed for a reason other than a refusal: what is stored stays for the next try. */
export class CompletionPending extends Error {
  override name = 'CompletionPending';
  constructor(override readonly cause: unknown) {
    super(`the completion did not finish: ${(cause as Error)?.message ?? String(cause)}`);
  }
}
