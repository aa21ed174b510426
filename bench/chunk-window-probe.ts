/**
 * How many chunk inserts an upload should keep in flight (bench/NOTES.md, "Chunk writes"):
 * `node dist-bench/bench/chunk-window-probe.js` after `tsc -p tsconfig.bench.json`, against
 * MONGODB_URI (its database is dropped afterwards). Writes one file of PROBE_MB (default 32) MB
 * through GridFsChunkWriter with windows 1, 2, 4 and 8, and through the driver's own
 * openUploadStream, interleaved, PROBE_REPS (default 3) times; prints MB/s and this process's CPU
 * per 100 MB for each. The database's own CPU is not included.
 */
import { GridFSBucket, MongoClient } from 'mongodb';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GridFsChunkWriter } from '../src/audio/gridfs-chunk-writer.js';
import { spread } from './stats.js';

const MB = 1024 * 1024;
const CHUNK = 255 * 1024;
const bytes = Number(process.env.PROBE_MB ?? 32) * MB;
const reps = Number(process.env.PROBE_REPS ?? 3);

/** 64 KiB pieces, as busboy hands them out. */
function source(): Readable {
  const piece = Buffer.alloc(64 * 1024, 7);
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < bytes; sent += piece.length) yield piece;
    })(),
  );
}

async function main(): Promise<void> {
  const base = new URL(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017/');
  base.pathname = `/bench_window_${Date.now().toString(36)}`;
  const client = await MongoClient.connect(base.toString());
  const db = client.db();
  await db.createCollection('fs.files');
  await db.collection('fs.chunks').createIndex({ files_id: 1, n: 1 }, { unique: true });
  const bucket = new GridFSBucket(db, { chunkSizeBytes: CHUNK });
  const targets: [string, () => Writable][] = [
    ['driver openUploadStream', () => bucket.openUploadStream('probe.wav')],
    ...[1, 2, 4, 8].map((w): [string, () => Writable] => [
      `GridFsChunkWriter window ${w}`,
      () =>
        new GridFsChunkWriter(db.collection('fs.files'), db.collection('fs.chunks'), CHUNK, w, () => ({
          filename: 'probe.wav',
          metadata: {},
        })),
    ]),
  ];
  const rates = new Map<string, number[]>(targets.map(([name]) => [name, []]));
  const cpu = new Map<string, number[]>(targets.map(([name]) => [name, []]));
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const [name, make] of targets) {
        await db.collection('fs.chunks').deleteMany({});
        await db.collection('fs.files').deleteMany({});
        const usage = process.cpuUsage();
        const started = performance.now();
        await pipeline(source(), make());
        const seconds = (performance.now() - started) / 1000;
        const used = process.cpuUsage(usage);
        rates.get(name)!.push(bytes / MB / seconds);
        cpu.get(name)!.push(((used.user + used.system) / 1e6 / (bytes / MB)) * 100);
      }
    }
    console.log(`${bytes / MB} MB, ${reps} repetitions, median (min-max)`);
    for (const [name] of targets) {
      const r = spread(rates.get(name)!);
      const c = spread(cpu.get(name)!);
      console.log(
        `  ${name.padEnd(28)} ${r.median.toFixed(1)} MB/s (${r.min.toFixed(1)}-${r.max.toFixed(1)}); CPU ${c.median.toFixed(2)} s per 100 MB`,
      );
    }
  } finally {
    await db.dropDatabase();
    await client.close();
  }
}

void main();
