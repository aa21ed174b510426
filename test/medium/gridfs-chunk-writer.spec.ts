import { createHash, randomBytes } from 'node:crypto';
import { GridFSBucket, type Collection, type Db } from 'mongodb';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GridFsChunkWriter, SharedInsertSlots } from '../../src/audio/gridfs-chunk-writer.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';

const CHUNK = 16 * 1024;
let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await openTestDatabase('chunkwriter');
  db = database.db;
});
afterAll(() => database?.drop());
beforeEach(async () => {
  for (const name of ['fs.files', 'fs.chunks']) await db.collection(name).deleteMany({});
});

/** fs.chunks, with each insertOne counted (most at once) and, from chunk `failAt` on, refused. */
function watchedChunks(failAt = Infinity) {
  const chunks = db.collection('fs.chunks');
  const watch = { inFlight: 0, most: 0, inserted: 0, started: 0 };
  const wrapped: Collection = new Proxy(chunks, {
    get(target, key, receiver) {
      if (key !== 'insertOne') return Reflect.get(target, key, receiver) as unknown;
      return async (doc: { n: number }) => {
        watch.inFlight++;
        watch.started++;
        watch.most = Math.max(watch.most, watch.inFlight);
        try {
          await new Promise((r) => setTimeout(r, 5)); // a round trip long enough to overlap
          if (doc.n >= failAt) throw new Error(`refused chunk ${doc.n}`);
          const result = await target.insertOne(doc);
          watch.inserted++;
          return result;
        } finally {
          watch.inFlight--;
        }
      };
    },
  });
  return { chunks: wrapped, watch };
}

/** `bytes` from a source handing out `piece`-byte buffers. */
function source(data: Buffer, piece = 4096): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < data.length; at += piece) yield data.subarray(at, at + piece);
    })(),
  );
}

describe('GridFsChunkWriter', () => {
  it('stores a file the driver reads back: chunks in order, one files document written last', async () => {
    const data = randomBytes(10 * CHUNK + 123);
    const { chunks, watch } = watchedChunks();
    const metadata: Record<string, unknown> = { session: 's1' };
    const writer = new GridFsChunkWriter(db.collection('fs.files'), chunks, CHUNK, 4, () => ({
      filename: 'a.wav',
      metadata,
    }));
    const input = source(data);
    input.once('end', () => (metadata.sha256 = 'set at the end')); // as AnswerAudioStore's onEnd does
    await pipeline(input, writer);

    expect(watch.inserted).toBe(11);
    expect(watch.most).toBe(4);
    const file = await db.collection('fs.files').findOne({ _id: writer.id });
    expect(file).toEqual({
      _id: writer.id,
      length: data.length,
      chunkSize: CHUNK,
      uploadDate: expect.any(Date),
      filename: 'a.wav',
      metadata: { session: 's1', sha256: 'set at the end' },
    });
    const stored = await db.collection('fs.chunks').find({ files_id: writer.id }).sort({ n: 1 }).toArray();
    expect(stored.map((c) => c.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const read: Buffer[] = [];
    for await (const part of new GridFSBucket(db).openDownloadStream(writer.id)) read.push(part as Buffer);
    expect(createHash('sha256').update(Buffer.concat(read)).digest('hex')).toBe(
      createHash('sha256').update(data).digest('hex'),
    );
  });

  it('keeps at most `window` inserts in flight, one at a time with a window of 1', async () => {
    const { chunks, watch } = watchedChunks();
    const writer = new GridFsChunkWriter(db.collection('fs.files'), chunks, CHUNK, 1, () => ({
      filename: 'b.wav',
      metadata: {},
    }));
    // pieces larger than a chunk: the window holds even within one write
    await pipeline(source(randomBytes(6 * CHUNK), 3 * CHUNK), writer);
    expect(watch.most).toBe(1);
    expect(watch.inserted).toBe(6);
  });

  it('uploads at once share the inserts beyond their first: with 2 shared slots, two writers keep at most 4 in flight', async () => {
    const { chunks, watch } = watchedChunks();
    const shared = new SharedInsertSlots(2);
    const writers = [1, 2].map(
      (i) =>
        new GridFsChunkWriter(
          db.collection('fs.files'),
          chunks,
          CHUNK,
          4,
          () => ({ filename: `${i}.wav`, metadata: {} }),
          shared,
        ),
    );
    await Promise.all(writers.map((w) => pipeline(source(randomBytes(12 * CHUNK)), w)));
    expect(watch.most).toBe(4);
    expect(watch.inserted).toBe(24);
    // every shared slot given back
    expect([shared.tryTake(), shared.tryTake(), shared.tryTake()]).toEqual([true, true, false]);
  });

  it('an empty file is a files document of length 0 and no chunk', async () => {
    const writer = new GridFsChunkWriter(db.collection('fs.files'), db.collection('fs.chunks'), CHUNK, 4, () => ({
      filename: 'empty.wav',
      metadata: {},
    }));
    await pipeline(Readable.from([]), writer);
    expect(await db.collection('fs.files').findOne({ _id: writer.id })).toMatchObject({ length: 0, chunkSize: CHUNK });
    expect(await db.collection('fs.chunks').countDocuments({ files_id: writer.id })).toBe(0);
  });

  it('a refused chunk fails the write with its error, writes no files document, and nothing lands after', async () => {
    const { chunks, watch } = watchedChunks(3);
    const writer = new GridFsChunkWriter(db.collection('fs.files'), chunks, CHUNK, 4, () => ({
      filename: 'c.wav',
      metadata: {},
    }));
    await expect(pipeline(source(randomBytes(12 * CHUNK)), writer)).rejects.toThrow('refused chunk 3');
    expect(watch.inFlight).toBe(0);
    expect(await db.collection('fs.files').countDocuments({ _id: writer.id })).toBe(0);
    const landed = await db.collection('fs.chunks').countDocuments({ files_id: writer.id });
    expect(landed).toBe(watch.inserted);
    expect(landed).toBeLessThan(12);
  });

  it('destroyed while a chunk waits for its slot, it starts no insert after it closes, so a delete then removes every chunk', async () => {
    const { chunks, watch } = watchedChunks();
    const writer = new GridFsChunkWriter(db.collection('fs.files'), chunks, CHUNK, 1, () => ({
      filename: 'd.wav',
      metadata: {},
    }));
    // three chunks in one write: chunk 0 is in flight, chunk 1 waits for the window of 1
    writer.write(randomBytes(3 * CHUNK));
    await new Promise((r) => setTimeout(r, 1));
    expect(watch.started).toBe(1);
    await new Promise<void>((resolve) => {
      writer.once('close', () => resolve());
      writer.destroy();
    });
    const startedAtClose = watch.started;
    await db.collection('fs.chunks').deleteMany({ files_id: writer.id });
    await new Promise((r) => setTimeout(r, 50)); // long past a round trip of the watched inserts
    expect(watch.started).toBe(startedAtClose);
    expect(watch.inFlight).toBe(0);
    expect(await db.collection('fs.chunks').countDocuments({ files_id: writer.id })).toBe(0);
  });
});
