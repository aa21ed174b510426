import { Binary, type Collection, type Document, ObjectId } from 'mongodb';
import { Writable } from 'node:stream';

export interface GridFsFileFields {
  filename: string;
  metadata: Document;
}

/**
 * Chunk inserts beyond each upload's first, shared by every upload of a process: one large upload
 * gets its whole window, while many at once (each already keeping one insert in flight) do not add
 * a window each to the database's queue, ahead of the session writes that accept them.
 */
export class SharedInsertSlots {
  private taken = 0;
  constructor(readonly size: number) {}

  tryTake(): boolean {
    if (this.taken >= this.size) return false;
    this.taken++;
    return true;
  }

  give(): void {
    this.taken--;
  }
}

/**
 * A GridFS file written as a stream, with up to `window` chunk inserts in flight at once (the first
 * always, the others while SharedInsertSlots has room): the
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
  /** Set by destroy: no insert may start after it, even one already waiting for a slot. */
  private stopped = false;

  constructor(
    private readonly files: Collection,
    private readonly chunks: Collection,
    private readonly chunkSize: number,
    private readonly window: number,
    private readonly fields: () => GridFsFileFields,
    private readonly shared: SharedInsertSlots = new SharedInsertSlots(window - 1),
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
    if (this.filled > 0 && !this.failure) this.sendWhenFree(this.current!.subarray(0, this.filled), await this.slot());
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
    // nothing of ours lands after the error is reported: the caller deletes the chunks next. A write
    // waiting for a slot wakes when the last insert settles, sees `stopped` and sends nothing more.
    this.stopped = true;
    void this.settled().then(() => callback(error));
  }

  /**
   * Copies bytes into chunk-sized buffers, sending each one full; while the window is full it waits
   * for an insert to be acknowledged, and the stream takes no more bytes until it returns.
   */
  private async take(data: Buffer): Promise<void> {
    this.length += data.length;
    for (let at = 0; at < data.length;) {
      if (this.failure || this.stopped) return;
      this.current ??= this.spare.pop() ?? Buffer.allocUnsafe(this.chunkSize);
      const copied = data.copy(this.current, this.filled, at, at + this.chunkSize - this.filled);
      this.filled += copied;
      at += copied;
      if (this.filled < this.chunkSize) continue;
      this.sendWhenFree(this.current, await this.slot());
    }
  }

  /**
   * Waits until one more insert may start: the first of this upload always may; more, up to the
   * window, while a shared slot is free. True when the insert holds a shared slot.
   */
  private async slot(): Promise<boolean> {
    for (;;) {
      if (this.inFlight.size === 0) return false;
      if (this.inFlight.size < this.window && this.shared.tryTake()) return true;
      await Promise.race(this.inFlight);
    }
  }

  /** Sends a chunk whose slot has come, unless the writer was destroyed while it waited. */
  private sendWhenFree(chunk: Buffer, sharedSlot: boolean): void {
    if (!this.stopped) return this.send(chunk, sharedSlot);
    if (sharedSlot) this.shared.give();
    this.current = null;
    this.filled = 0;
  }

  private send(chunk: Buffer, sharedSlot: boolean): void {
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
        if (sharedSlot) this.shared.give();
      });
    this.inFlight.add(insert);
  }

  /** Resolves once no insert is in flight (failed ones recorded in `failure`). */
  private async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }
}
