import { Binary, type Collection, type Document, ObjectId } from 'mongodb';
import { Writable } from 'node:stream';

export interface GridFsFileFields {
  filename: string;
  metadata: Document;
}

/**
 * Chunk inserts in flight, counted for the whole process. At most `total` at once, so that chunk
 * inserts never take every connection of the driver's pool: the pool hands connections out first
 * come, first served, and a burst of uploads left each transcription claim, session write and
 * status read waiting behind every chunk queued before it. Of those, at most `extra` are uploads'
 * second and later inserts: each upload may always keep one in flight (waiting its turn for a slot),
 * and a few at a time get their whole window.
 */
export class ChunkInsertSlots {
  private inFlight = 0;
  private extras = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(
    readonly total: number,
    readonly extra: number,
  ) {}

  /** A slot for an upload's only insert in flight: waits until one is free. */
  async takeFirst(): Promise<void> {
    while (this.inFlight >= this.total) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.inFlight++;
  }

  /** A slot for one more insert of an upload that has one in flight, if one is free now. */
  tryTakeExtra(): boolean {
    if (this.inFlight >= this.total || this.extras >= this.extra) return false;
    this.inFlight++;
    this.extras++;
    return true;
  }

  give(extra: boolean): void {
    this.inFlight--;
    if (extra) this.extras--;
    this.waiters.shift()?.();
  }
}

/**
 * A GridFS file written as a stream, with up to `window` chunk inserts in flight at once (as many as
 * ChunkInsertSlots, shared by the process's uploads, allows): the
 * driver's upload stream keeps about one, so each chunk waits a whole round trip for the one before
 * (bench/NOTES.md, "Chunk writes", for the window measured). When the window is full the writer
 * stops taking bytes, so the socket is not read further and memory stays at `window` + 1 chunks.
 *
 * The files document is written once, after every chunk is acknowledged, from `fields()` asked at
 * that moment (so the caller may complete the metadata when its source ends), exactly as the
 * driver writes it (_id, length, chunkSize, uploadDate, filename, metadata). Until then the chunks
 * have no files document: a crash leaves an orphan chunk group, which the cleanup finds by its
 * files_id as before. After an error nothing of the writer's is still in flight once it has
 * reported it (destroy waits for the inserts), so a caller's delete of `id` removes every chunk.
 */
export class GridFsChunkWriter extends Writable {
  readonly id = new ObjectId();
  /** Bytes taken so far (the file's length once finished). */
  length = 0;
  private current: Buffer | null = null;
  private filled = 0;
  private n = 0;
  private readonly inFlight = new Set<Promise<void>>();
  /** Chunk buffers whose insert is acknowledged, filled again: no garbage of a chunk per chunk. */
  private readonly spare: Buffer[] = [];
  private failure: Error | null = null;

  constructor(
    private readonly files: Collection,
    private readonly chunks: Collection,
    private readonly chunkSize: number,
    private readonly window: number,
    private readonly fields: () => GridFsFileFields,
    private readonly slots: ChunkInsertSlots = new ChunkInsertSlots(window, window - 1),
  ) {
    super({ highWaterMark: chunkSize });
  }

  override _write(data: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.take(data).then(() => callback(this.failure), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.writeFilesDocument().then(() => callback(), callback);
  }

  /** Once every chunk is acknowledged: the files document, the one record that makes the file whole. */
  private async writeFilesDocument(): Promise<void> {
    if (this.filled > 0 && !this.failure) this.send(this.current!.subarray(0, this.filled), await this.slot());
    await this.settled();
    if (this.failure) throw this.failure;
    const { filename, metadata } = this.fields();
    await this.files.insertOne({
      _id: this.id,
      length: this.length,
      chunkSize: this.chunkSize,
      uploadDate: new Date(),
      filename,
      metadata,
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // nothing of ours lands after the error is reported: the caller deletes the chunks next
    void this.settled().then(() => callback(error));
  }

  /**
   * Copies bytes into chunk-sized buffers, sending each one full; while the window is full it waits
   * for an insert to be acknowledged, and the stream takes no more bytes until it returns.
   */
  private async take(data: Buffer): Promise<void> {
    this.length += data.length;
    for (let at = 0; at < data.length;) {
      if (this.failure) return;
      this.current ??= this.spare.pop() ?? Buffer.allocUnsafe(this.chunkSize);
      const copied = data.copy(this.current, this.filled, at, at + this.chunkSize - this.filled);
      this.filled += copied;
      at += copied;
      if (this.filled < this.chunkSize) continue;
      this.send(this.current, await this.slot());
    }
  }

  /**
   * Waits until one more insert may start: the first of this upload once the process has a slot
   * free; more, up to the window, while an extra slot is free. True when the insert holds an extra slot.
   */
  private async slot(): Promise<boolean> {
    for (;;) {
      if (this.inFlight.size === 0) {
        await this.slots.takeFirst();
        return false;
      }
      if (this.inFlight.size < this.window && this.slots.tryTakeExtra()) return true;
      await Promise.race(this.inFlight);
    }
  }

  private send(chunk: Buffer, extra: boolean): void {
    const n = this.n++;
    this.current = null;
    this.filled = 0;
    const insert = this.chunks
      .insertOne({ _id: new ObjectId(), files_id: this.id, n, data: new Binary(chunk) })
      .then(
        () => {
          if (chunk.length === this.chunkSize) this.spare.push(chunk);
        },
        (error: Error) => {
          this.failure ??= error;
        },
      )
      .finally(() => {
        this.inFlight.delete(insert);
        this.slots.give(extra);
      });
    this.inFlight.add(insert);
  }

  /** Resolves once no insert is in flight (failed ones recorded in `failure`). */
  private async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }
}
