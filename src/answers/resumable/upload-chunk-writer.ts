import type { ObjectId } from 'mongodb';
import type { Readable } from 'node:stream';
import type { ResumableUploadDocuments } from '../../audio/resumable-upload.documents.js';
import { isDuplicateKey, type ResumableUpload, type UploadProgress } from '../../audio/resumable-upload.schema.js';
import type { ChunkBuffers } from './chunk-buffers.js';
import { HeadRefused, HeldHead, type UploadFormat } from './held-head.js';
import { tusError } from './tus-errors.js';
import { UPLOAD_BUSY } from './upload-lease.locker.js';
import type { UploadSha256 } from './upload-sha256.js';

export type { UploadFormat } from './held-head.js';

export interface ChunkWriterLimits {
  /** Full chunks go to the database about this many bytes at a time (one insertMany). */
  batchBytes: number;
  /** Progress is recorded at least every this many bytes of stored chunks, and always when the request ends. */
  recordEveryBytes: number;
}

/** What one PATCH left: the offset it reached, and when that is the whole file, its chunk count and format. */
export type WriteOutcome =
  { complete: false; offset: number } | { complete: true; offset: number; chunkCount: number; format: UploadFormat };

/** Full chunks on their way to the database, with the hash state after their last byte. */
interface Batch {
  firstN: number;
  chunks: Buffer[];
  hashState: Uint8Array;
}

/**
 * One PATCH's bytes into the upload's GridFS chunks, memory flat whatever the upload's size.
 * - Each byte is copied once, into a chunk-sized buffer that is used again once its insert is
 *   acknowledged; while one batch is inserted the next fills from the request. The request is not
 *   read further while both are busy, so a slow database slows the client, it does not fill memory.
 * - Chunks are hashed in order as they fill; a progress record carries the hash state over exactly
 *   the chunks it declares stored, so completion reads nothing back.
 * - A chunk index already taken can only be one a writer stored and never recorded (it crashed, or
 *   lost its lease): those are removed, by the writer token each chunk carries, and the batch is
 *   stored again.
 */
export class UploadChunkWriter {
  private readonly id: ObjectId;
  private readonly chunkSize: number;
  private readonly batchChunks: number;
  private format: UploadFormat | null;
  /** Bytes the upload holds once what has arrived is kept. */
  private offset: number;
  /** The first bytes, until their format is known. */
  private head: HeldHead | null;
  /** Every buffer this request took from the pool, given back once nothing of it is in flight. */
  private readonly owned = new Set<Buffer>();
  private current: Buffer | null = null;
  private filled = 0;
  private sealed: Buffer[] = [];
  /** Index of the chunk being filled. */
  private nextN: number;
  /** Chunks [0, storedN) are acknowledged by the database; storedHashState covers exactly them. */
  private storedN: number;
  private storedHashState: Uint8Array;
  private recordedN: number;
  private readonly recordEvery: number;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly documents: ResumableUploadDocuments,
    private readonly upload: ResumableUpload,
    private readonly token: string,
    private readonly hash: UploadSha256,
    private readonly buffers: ChunkBuffers,
    limits: ChunkWriterLimits,
  ) {
    this.id = upload._id;
    this.chunkSize = upload.chunk_size; // as it was created, whatever GRIDFS_CHUNK_SIZE_BYTES says now
    this.batchChunks = Math.max(1, Math.floor(limits.batchBytes / this.chunkSize));
    this.recordEvery = limits.recordEveryBytes;
    this.format = upload.format;
    this.head = this.format ? null : new HeldHead(documents, upload);
    // the tail is taken again as the request's first bytes (writeAll)
    this.offset = upload.offset - upload.tail.buffer.length;
    this.nextN = this.storedN = this.recordedN = upload.next_n;
    this.storedHashState = hash.save();
  }

  /** Reads the request to its end (or its cut-off: what arrived is kept, then the stream's error is thrown). */
  async write(stream: Readable): Promise<WriteOutcome> {
    try {
      return await this.writeAll(stream);
    } finally {
      await this.inFlight?.catch(() => undefined); // nothing of ours lands after the lease is let go
      this.buffers.give(this.owned);
    }
  }

  private buffer(): Buffer {
    const buffer = this.buffers.take(this.chunkSize);
    this.owned.add(buffer);
    return buffer;
  }

  private async writeAll(stream: Readable): Promise<WriteOutcome> {
    const tail = Buffer.from(this.upload.tail.buffer);
    if (tail.length > 0) await this.take(tail);
    let streamError: unknown = null;
    const chunks = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (error) {
        streamError = error; // cut off: the client resumes from what is recorded below
        break;
      }
      if (next.done) break;
      await this.take(next.value);
    }
    await this.send();
    await this.settle();
    if (this.offset === this.upload.size && this.format) return this.finish(this.format);
    await this.record(this.keptProgress());
    if (streamError) throw streamError as Error; // what the stream failed with
    return { complete: false, offset: this.offset };
  }

  private async take(data: Buffer): Promise<void> {
    this.offset += data.length;
    await this.append(data);
    if (this.head) await this.judge(data);
  }

  /** While the format is unknown: the head takes the bytes too, and tells the format once it can. */
  private async judge(data: Buffer): Promise<void> {
    try {
      const format = await this.head!.add(data, this.offset);
      if (format === 'more') return;
      this.format = format;
      this.head = null;
    } catch (error) {
      if (!(error instanceof HeadRefused)) throw error;
      await this.settle().catch(() => undefined); // no chunk of ours lands after the removal
      await this.documents.remove(this.id, { holder: this.token });
      throw tusError(400, error.message);
    }
  }

  /** Copies bytes into chunk buffers; each full chunk is hashed and, a batch at a time, stored. */
  private async append(data: Buffer): Promise<void> {
    for (let at = 0; at < data.length;) {
      this.current ??= this.buffer();
      const copied = data.copy(this.current, this.filled, at, at + this.chunkSize - this.filled);
      this.filled += copied;
      at += copied;
      if (this.filled < this.chunkSize) continue;
      this.hash.update(this.current);
      this.sealed.push(this.current);
      this.current = null;
      this.filled = 0;
      this.nextN++;
      if (this.sealed.length >= this.batchChunks) await this.send();
    }
  }

  /** Hands the sealed chunks to the database once the batch before them is stored. */
  private async send(): Promise<void> {
    if (this.sealed.length === 0) return;
    const batch = { firstN: this.nextN - this.sealed.length, chunks: this.sealed, hashState: this.hash.save() };
    this.sealed = [];
    await this.settle();
    this.inFlight = this.store(batch);
    this.inFlight.catch(() => undefined); // observed by settle()
  }

  private async settle(): Promise<void> {
    const inFlight = this.inFlight;
    this.inFlight = null;
    await inFlight;
  }

  private async store(batch: Batch): Promise<void> {
    await this.insert(batch.firstN, batch.chunks);
    this.storedN = batch.firstN + batch.chunks.length;
    this.storedHashState = batch.hashState;
    for (const chunk of batch.chunks) this.owned.delete(chunk);
    this.buffers.give(batch.chunks); // for the next batch, of this request or another
    if ((this.storedN - this.recordedN) * this.chunkSize < this.recordEvery) return;
    // mid-request: the stored chunks alone (no tail), so a crash loses at most what followed them
    await this.record({
      offset: this.storedN * this.chunkSize,
      next_n: this.storedN,
      tail: Buffer.alloc(0),
      format: this.format,
      hash_state: this.storedHashState,
    });
  }

  private async insert(firstN: number, chunks: Buffer[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.documents.insertChunks(this.id, this.token, firstN, chunks);
      } catch (error) {
        if (!isDuplicateKey(error) || attempt > 3) throw error;
      }
      if (!(await this.documents.discardUnrecorded(this.id, this.token, firstN))) throw tusError(423, UPLOAD_BUSY);
    }
  }

  /** Everything that arrived: the stored chunks and, in the document, the bytes after them. */
  private keptProgress(): UploadProgress {
    return {
      offset: this.offset,
      next_n: this.storedN,
      tail: Buffer.from(this.current?.subarray(0, this.filled) ?? Buffer.alloc(0)),
      format: this.format,
      judge_at: this.head?.judgeAt ?? null,
      hash_state: this.storedHashState,
    };
  }

  /** The last byte is in: the last (short) chunk is stored too. */
  private async finish(format: UploadFormat): Promise<WriteOutcome> {
    let chunkCount = this.storedN;
    if (this.filled > 0) {
      const last = this.current!.subarray(0, this.filled);
      this.hash.update(last);
      await this.insert(chunkCount++, [last]);
    }
    if (this.hash.bytes !== this.upload.size) {
      throw new Error(`upload ${this.id.toHexString()} hashed ${this.hash.bytes} of ${this.upload.size} bytes`);
    }
    return { complete: true, offset: this.offset, chunkCount, format };
  }

  private async record(progress: UploadProgress): Promise<void> {
    if (!(await this.documents.recordProgress(this.id, this.token, progress))) throw tusError(423, UPLOAD_BUSY);
    this.recordedN = progress.next_n!;
  }
}
