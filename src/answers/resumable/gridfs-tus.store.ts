import { DataStore, Upload } from '@tus/utils';
import { Binary, ObjectId } from 'mongodb';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ResumableUpload, ResumableUploadDocuments } from '../../audio/resumable-upload.documents.js';
import type { Clock } from '../../database/clock.js';
import { ACCEPTED_AUDIO_DESCRIPTION, AUDIO_SNIFF_BYTES, detectAudioFormat } from '../intake/audio-format.js';
import { tusError } from './tus-errors.js';
import { UPLOAD_BUSY, type UploadLeaseLocker } from './upload-lease.locker.js';

/** Progress is recorded (and so survives a crash) at least every this many bytes of full chunks. */
const RECORD_EVERY_BYTES = 1024 * 1024;

export const UPLOAD_NOT_FOUND = 'No unfinished upload with this id exists for your account; create a new one.';
const NOT_AUDIO = `The uploaded file is not a supported audio recording; send ${ACCEPTED_AUDIO_DESCRIPTION}.`;

export interface GridFsTusStoreOptions {
  chunkSizeBytes: number;
  expiryMs: number;
}

export function uploadObjectId(id: string): ObjectId | null {
  return /^[0-9a-f]{24}$/.test(id) ? new ObjectId(id) : null;
}

/**
 * A tus DataStore over GridFS. Bytes become GridFS chunks (files_id = the upload's id, n = index)
 * as they arrive; only the unfinished tail chunk is kept, in the upload's document. Neither memory
 * (beyond one chunk) nor local disk ever holds the file. When the last byte is in, the chunks are
 * read back for their SHA-256 and the GridFS files document is written: from then on the upload is
 * an ordinary stored recording, which onUploadFinish hands to the shared intake.
 */
export class GridFsTusStore extends DataStore {
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

  override async remove(id: string): Promise<void> {
    const doc = await this.find(id);
    if (doc.complete) throw tusError(404, UPLOAD_NOT_FOUND);
    await this.documents.removeUnfinished(doc._id);
  }

  override getExpiration(): number {
    return this.options.expiryMs;
  }

  /** The cleanup removes expired uploads (AudioCleanup); this serves @tus/server's own call. */
  override async deleteExpired(): Promise<number> {
    let removed = 0;
    for (const upload of await this.documents.expired(this.clock.now(), 1000)) {
      if (upload.complete) await this.documents.forget(upload._id);
      else await this.documents.removeUnfinished(upload._id);
      removed++;
    }
    return removed;
  }

  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    const doc = await this.find(id);
    const token = this.locker.tokenFor(id);
    if (!token) throw tusError(423, UPLOAD_BUSY);
    if (doc.complete || doc.offset !== offset)
      throw tusError(409, `The upload is at byte ${doc.offset}; send from there.`);
    const size = doc.chunk_size; // as it was created, whatever GRIDFS_CHUNK_SIZE_BYTES says now
    await this.documents.discardChunksFrom(doc._id, doc.next_n);

    const tail = Buffer.from(doc.tail.buffer);
    let pending: Buffer[] = tail.length > 0 ? [tail] : [];
    let pendingBytes = tail.length;
    let n = doc.next_n;
    let recordedN = n;
    let format = doc.format;
    let at = doc.offset;
    const take = (bytes: number): Buffer => {
      const all = pending.length === 1 ? pending[0] : Buffer.concat(pending);
      const head = all.subarray(0, bytes);
      const rest = all.subarray(bytes);
      pending = rest.length > 0 ? [rest] : [];
      pendingBytes = rest.length;
      return head;
    };
    const peekAll = () => (pending.length === 1 ? pending[0] : Buffer.concat(pending));
    const record = async () => {
      const still = await this.documents.recordProgress(doc._id, token, {
        offset: at,
        next_n: n,
        tail: Buffer.from(peekAll()),
        format,
      });
      if (!still) throw tusError(423, UPLOAD_BUSY);
      recordedN = n;
    };

    // full chunks wait here until about RECORD_EVERY_BYTES are ready: one insert and one progress record for them
    let batch: Buffer[] = [];
    let batchFirstN = n;
    const flush = async () => {
      if (batch.length === 0) return;
      await this.documents.insertChunks(doc._id, batchFirstN, batch);
      batch = [];
      batchFirstN = n;
    };

    let streamError: unknown;
    try {
      for await (const data of stream as AsyncIterable<Buffer>) {
        pending.push(data);
        pendingBytes += data.length;
        at += data.length;
        if (!format && (pendingBytes >= AUDIO_SNIFF_BYTES || at === doc.size)) {
          const detected = await detectAudioFormat(peekAll().subarray(0, AUDIO_SNIFF_BYTES));
          if (!detected) {
            await this.documents.removeUnfinished(doc._id);
            throw tusError(400, NOT_AUDIO);
          }
          format = { extension: detected.extension, content_type: detected.contentType };
        }
        if (!format) continue;
        while (pendingBytes >= size) {
          batch.push(Buffer.from(take(size)));
          n++;
        }
        if ((n - recordedN) * size >= RECORD_EVERY_BYTES) {
          await flush();
          await record();
        }
      }
    } catch (error) {
      if (typeof error === 'object' && error && 'status_code' in error) throw error;
      streamError = error; // cut off: what arrived is kept, the client resumes from it
    }
    await flush();
    if (at === doc.size && format) {
      if (pendingBytes > 0) await this.documents.insertChunks(doc._id, n++, [take(pendingBytes)]);
      await this.complete(doc, n, format, size);
      return at;
    }
    await record();
    if (streamError) throw streamError;
    return at;
  }

  /** The last byte is in: hash the chunks as stored, write the files document, mark the upload complete. */
  private async complete(
    doc: ResumableUpload,
    chunkCount: number,
    format: NonNullable<ResumableUpload['format']>,
    chunkSize: number,
  ): Promise<void> {
    const { sha256, bytes } = await this.documents.hashChunks(doc._id, chunkCount);
    if (bytes !== doc.size) throw new Error(`upload ${doc._id.toHexString()} holds ${bytes} of ${doc.size} bytes`);
    const answerId = randomUUID();
    await this.documents.writeFilesDocument(doc._id, {
      length: bytes,
      chunkSize,
      filename: `${String(doc.session_id)}-${doc.question_id}.${format.extension}`,
      metadata: {
        session_id: doc.session_id as never,
        question_id: doc.question_id,
        user_id: doc.user_id,
        answer_id: answerId,
        content_type: format.content_type,
        upload_date: this.clock.now(),
        status: 'queued',
        sha256,
        size_bytes: bytes,
      },
    });
    const token = this.locker.tokenFor(doc._id.toHexString())!;
    const still = await this.documents.recordProgress(doc._id, token, {
      offset: bytes,
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
