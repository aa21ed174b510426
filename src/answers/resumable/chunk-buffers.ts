/**
 * Chunk-sized buffers kept from one request to the next. A request's buffers live as long as it
 * does, so a collection of the young generation finds them alive and moves them to the old one,
 * where they would wait, garbage, for a full collection: the server's memory rose by a few MB per
 * PATCH until one came. Kept here, the same few buffers serve every request.
 */
export class ChunkBuffers {
  private readonly free = new Map<number, Buffer[]>();

  /** Keeps up to `keepBytes` (and one buffer more) of each chunk size. */
  constructor(private readonly keepBytes: number) {}

  take(size: number): Buffer {
    return this.free.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size);
  }

  give(buffers: Iterable<Buffer>): void {
    for (const buffer of buffers) {
      const list = this.free.get(buffer.length) ?? [];
      if (list.length * buffer.length > this.keepBytes) continue;
      list.push(buffer);
      this.free.set(buffer.length, list);
    }
  }
}
