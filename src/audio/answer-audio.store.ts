import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { ObjectId } from 'mongodb';
import type { Connection, Types } from 'mongoose';
import { Readable } from 'node:stream';
import { storageSettings, type StorageSettings } from '../config/settings.js';
import { ensureCollection } from '../database/ensure-collection.js';
import { withSpan } from '../tracing/spans.js';
import { GridFsChunkWriter, SharedInsertSlots } from './gridfs-chunk-writer.js';

/** Chunks fetched per round trip when audio is read back (at 255 KB each, about 1 MB). */
const DOWNLOAD_BATCH_CHUNKS = 4;

/** GridFS bucket holding answer audio: fs.files and fs.chunks. */
export const AUDIO_BUCKET = 'fs';

export interface AnswerAudioMetadata {
  session_id: Types.ObjectId;
  question_id: string;
  user_id: string;
  answer_id: string;
  content_type: string;
  upload_date: Date;
  status: 'queued';
  sha256?: string;
  size_bytes?: number;
}

/** What the cleanup needs to know of a stored file. */
export interface StoredFileRow {
  _id: ObjectId;
  length: number;
  metadata?: { session_id?: ObjectId; question_id?: string };
}

export interface StoredAudio {
  fileId: Types.ObjectId;
  sizeBytes: number;
}

/**
 * All GridFS I/O for answer audio, the cleanup's queries included. Audio always moves as a stream,
 * one chunk at a time.
 */
@Injectable()
export class AnswerAudioStore implements OnModuleInit {
  private readonly logger = new Logger(AnswerAudioStore.name);
  private readonly chunkSizeBytes: number;
  private readonly writeWindowChunks: number;
  /** Two uploads at a time get their whole window; the others keep one insert in flight each. */
  private readonly sharedInsertSlots: SharedInsertSlots;

  constructor(
    @InjectConnection() private readonly connection: Connection,
    @Inject(storageSettings.KEY) settings: StorageSettings,
  ) {
    this.chunkSizeBytes = settings.chunkSizeBytes;
    this.writeWindowChunks = settings.writeWindowChunks;
    this.sharedInsertSlots = new SharedInsertSlots(2 * (settings.writeWindowChunks - 1));
  }

  /**
   * Both GridFS collections with the indexes the driver would otherwise create on the first upload
   * (see ensureCollection), and the one erasure finds a session's audio by.
   */
  async onModuleInit(): Promise<void> {
    const db = this.connection.db;
    if (!db) return;
    await Promise.all([
      ensureCollection(db, `${AUDIO_BUCKET}.files`, [
        { key: { filename: 1, uploadDate: 1 } },
        { key: { 'metadata.session_id': 1 } },
      ]),
      ensureCollection(db, `${AUDIO_BUCKET}.chunks`, [{ key: { files_id: 1, n: 1 }, unique: true }]),
    ]).catch((error: Error) => this.logger.warn(`could not create the audio collections: ${error.message}`));
  }

  /**
   * Streams `source` into a new GridFS file with backpressure, a few chunk inserts in flight
   * (GridFsChunkWriter). If the source or the database fails, the partial file is removed before the
   * error is rethrown, so nothing is left behind. `onEnd` runs when the source has ended and before
   * the files document is written, so that it can complete `metadata` (the checksum) without a
   * second write: the files document is written from the very metadata object given, once every
   * chunk is stored.
   */
  async save(
    source: Readable,
    filename: string,
    metadata: AnswerAudioMetadata,
    onEnd?: (metadata: AnswerAudioMetadata) => void,
  ): Promise<StoredAudio> {
    return withSpan('gridfs.write', { 'db.system.name': 'mongodb', 'gridfs.bucket': AUDIO_BUCKET }, async (span) => {
      const stored = await this.write(source, filename, metadata, onEnd);
      span.setAttribute('gridfs.size_bytes', stored.sizeBytes);
      return stored;
    });
  }

  private async write(
    source: Readable,
    filename: string,
    metadata: AnswerAudioMetadata,
    onEnd?: (metadata: AnswerAudioMetadata) => void,
  ): Promise<StoredAudio> {
    const db = this.connection.db!;
    const upload = new GridFsChunkWriter(
      db.collection(`${AUDIO_BUCKET}.files`),
      db.collection(`${AUDIO_BUCKET}.chunks`),
      this.chunkSizeBytes,
      this.writeWindowChunks,
      () => ({ filename, metadata }),
      this.sharedInsertSlots,
    );
    if (onEnd) source.once('end', () => onEnd(metadata)); // registered before pipe(), so it runs first
    try {
      await new Promise<void>((resolve, reject) => {
        source.once('error', reject);
        upload.once('error', reject);
        upload.once('finish', resolve);
        source.pipe(upload);
      });
    } catch (error) {
      await this.discardPartial(source, upload);
      throw error;
    }
    return { fileId: upload.id, sizeBytes: upload.length };
  }

  /** For readiness: reads one files document and one chunk id, so both collections answer. */
  async probe(signal?: AbortSignal): Promise<void> {
    const options = { projection: { _id: 1 }, maxTimeMS: 2_000, signal };
    await Promise.all([this.files().findOne({}, options), this.chunks().findOne({}, options)]);
  }

  /** Which of these ids have a files document. */
  async existingFileIds(ids: ObjectId[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const files = await this.files()
      .find({ _id: { $in: ids } }, { projection: { _id: 1 } })
      .toArray();
    return new Set(files.map((f) => String(f._id)));
  }

  /** Ids of every stored file that belongs to a session. */
  async fileIdsOfSession(sessionId: Types.ObjectId): Promise<Types.ObjectId[]> {
    const files = await this.connection
      .db!.collection(`${AUDIO_BUCKET}.files`)
      .find({ 'metadata.session_id': sessionId }, { projection: { _id: 1 } })
      .toArray();
    return files.map((f) => f._id);
  }

  /**
   * The file's bytes, chunk by chunk in order. Reads a few chunks per round trip: the driver's own
   * download stream takes the server's default batch (on FerretDB, megabytes per transcription).
   * Content is verified by the caller against the stored SHA-256 and size, so the files document is
   * read only when no chunk came (to tell a missing file from an empty or chunkless one): one round
   * trip fewer per read, and a transcription reads its audio twice (speech, then the provider).
   */
  openDownload(fileId: Types.ObjectId): Readable {
    const db = this.connection.db!;
    const id = fileId;
    async function* chunks() {
      let expected = 0;
      const cursor = db
        .collection(`${AUDIO_BUCKET}.chunks`)
        .find({ files_id: id }, { sort: { n: 1 }, batchSize: DOWNLOAD_BATCH_CHUNKS, projection: { n: 1, data: 1 } });
      for await (const chunk of cursor) {
        if (chunk.n !== expected)
          throw new Error(`ChunkIsMissing: chunk ${expected} of file ${String(id)} was not found`);
        expected++;
        const bytes = (chunk.data as { buffer: Uint8Array }).buffer;
        yield Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      }
      if (expected > 0) return;
      const file = await db.collection(`${AUDIO_BUCKET}.files`).findOne({ _id: id }, { projection: { length: 1 } });
      if (!file) throw new Error(`FileNotFound: file ${String(id)} was not found`);
      if (file.length > 0) throw new Error(`ChunkIsMissing: file ${String(id)} has no chunks`);
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  /** Files uploaded before `cutoff`, a batch at a time. */
  filesUploadedBefore(cutoff: Date, batchSize: number): AsyncIterable<StoredFileRow> {
    return this.files()
      .find({ uploadDate: { $lt: cutoff } }, { projection: { _id: 1, length: 1, metadata: 1 } })
      .batchSize(batchSize) as unknown as AsyncIterable<StoredFileRow>;
  }

  /**
   * Ids of chunk groups started before `cutoff` (an ObjectId holds its creation time) that have no
   * files document: uploads cut off by a crash. Younger ones may belong to an upload still streaming.
   */
  async orphanChunkGroups(cutoff: Date, batchSize: number): Promise<ObjectId[]> {
    const ids = (await this.chunks().distinct('files_id', {
      files_id: { $lt: ObjectId.createFromTime(Math.floor(cutoff.getTime() / 1000)) },
    })) as ObjectId[];
    const orphans: ObjectId[] = [];
    for (let i = 0; i < ids.length; i += batchSize) {
      const slice = ids.slice(i, i + batchSize);
      const present = new Set(
        (
          await this.files()
            .find({ _id: { $in: slice } }, { projection: { _id: 1 } })
            .toArray()
        ).map((f) => String(f._id)),
      );
      orphans.push(...slice.filter((id) => !present.has(String(id))));
    }
    return orphans;
  }

  /**
   * Deletes one chunk group, unless a files document names it by now (asked right before the delete:
   * see AudioCleanup's orphan sweep); returns how many chunks and bytes went.
   */
  async deleteChunkGroup(fileId: ObjectId): Promise<{ chunks: number; bytes: number }> {
    let bytes = 0;
    for await (const chunk of this.chunks().find({ files_id: fileId }, { projection: { data: 1 } })) {
      bytes += (chunk.data as { buffer?: Uint8Array })?.buffer?.length ?? 0;
    }
    if ((await this.files().countDocuments({ _id: fileId }, { limit: 1 })) > 0) return { chunks: 0, bytes: 0 };
    const { deletedCount } = await this.chunks().deleteMany({ files_id: fileId });
    return { chunks: deletedCount, bytes: deletedCount > 0 ? bytes : 0 };
  }

  private files() {
    return this.connection.db!.collection(`${AUDIO_BUCKET}.files`);
  }

  private chunks() {
    return this.connection.db!.collection(`${AUDIO_BUCKET}.chunks`);
  }

  /** Deletes the file and every chunk of it; deleting a file that is already gone is not an error. */
  async delete(fileId: Types.ObjectId): Promise<void> {
    await this.deleteCounting(fileId);
  }

  /**
   * Deletes the chunks first, then the files document. The files document is the only record of
   * whose audio the chunks are (session, question), so a crash in between must leave it: the
   * cleanup and a resumed erasure find the file by it and finish the job. Nobody reads a file while
   * it is deleted except a job whose result is already void, and the SHA-256 check refuses it.
   */
  async deleteCounting(fileId: Types.ObjectId): Promise<{ files: number; chunks: number }> {
    const id = fileId;
    const db = this.connection.db!;
    const chunks = await db.collection(`${AUDIO_BUCKET}.chunks`).deleteMany({ files_id: id });
    const files = await db.collection(`${AUDIO_BUCKET}.files`).deleteOne({ _id: id });
    return { files: files.deletedCount, chunks: chunks.deletedCount };
  }

  private async discardPartial(source: Readable, upload: GridFsChunkWriter): Promise<void> {
    source.unpipe(upload);
    // destroy() reports only once no chunk insert is in flight, so that none lands after the delete
    await new Promise<void>((resolve) => {
      if (upload.closed) return resolve();
      upload.once('close', () => resolve());
      upload.destroy();
    });
    await this.delete(upload.id).catch((error: Error) => {
      this.logger.warn(`could not remove partial upload ${String(upload.id)}: ${error.message}; cleanup will`);
    });
  }
}
