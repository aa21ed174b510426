/**
 * CPU per 100 MB of each per-byte step of a multipart upload, in this process, with no database
 * and no socket (bench/NOTES.md, "CPU per byte"): `node dist-bench/bench/cpu-per-byte-probe.js`
 * after `tsc -p tsconfig.bench.json`. The body (a WAV in multipart framing, 64 KiB pieces as a
 * socket hands them out) is made in memory first; each step is then timed alone, PROBE_REPS
 * (default 3) times: the multipart parse (busboy), SHA-256, the AudioGate (format check, size limit
 * and SHA-256 together), the parse and the gate chained as the service chains them, and the copy
 * into chunk-sized buffers that GridFsChunkWriter makes.
 */
import busboy from 'busboy';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AudioGate } from '../src/answers/intake/audio-gate.js';
import { streamingWav } from '../test/support/audio.js';
import { partHeader } from '../test/support/raw-http.js';
import { BOUNDARY, MB } from './context.js';
import { spread } from './stats.js';

const BYTES = 100 * MB;
const PIECE = 64 * 1024;
const reps = Number(process.env.PROBE_REPS ?? 3);

async function body(): Promise<Buffer[]> {
  const parts: Buffer[] = [];
  for await (const chunk of streamingWav(BYTES)) parts.push(Buffer.from(chunk as Buffer));
  const whole = Buffer.concat([
    Buffer.from(partHeader(BOUNDARY, { name: 'audio', filename: 'a.wav', contentType: 'audio/wav', data: '' })),
    ...parts,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
  const pieces: Buffer[] = [];
  for (let at = 0; at < whole.length; at += PIECE) pieces.push(whole.subarray(at, at + PIECE));
  return pieces;
}

const drain = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

/** The file part of a multipart body, parsed by busboy, into `sink`. */
function parse(pieces: Buffer[], sink: () => Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const parser = busboy({ headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } });
    parser.on('file', (_name, file) => {
      pipeline(file, sink()).then(resolve, reject);
    });
    parser.on('error', reject);
    Readable.from(pieces).pipe(parser);
  });
}

/** The copy GridFsChunkWriter makes: each byte once into a chunk-sized buffer. */
function chunkCopier(chunkSize = 255 * 1024): Writable {
  const buffer = Buffer.allocUnsafe(chunkSize);
  let filled = 0;
  return new Writable({
    write(data: Buffer, _encoding, callback) {
      for (let at = 0; at < data.length;) {
        const copied = data.copy(buffer, filled, at, at + chunkSize - filled);
        filled = (filled + copied) % chunkSize;
        at += copied;
      }
      callback();
    },
  });
}

async function main(): Promise<void> {
  const pieces = await body();
  const wavPieces = (() => {
    const out: Buffer[] = [];
    const wav = Buffer.concat(pieces).subarray(pieces[0].indexOf('\r\n\r\n') + 4);
    for (let at = 0; at < wav.length; at += PIECE) out.push(wav.subarray(at, at + PIECE));
    return out;
  })();
  const steps: [string, () => Promise<void>][] = [
    ['multipart parse (busboy)', () => parse(pieces, drain)],
    [
      'SHA-256',
      () => {
        const hash = createHash('sha256');
        for (const p of wavPieces) hash.update(p);
        hash.digest('hex');
        return Promise.resolve();
      },
    ],
    ['AudioGate (format, limit, SHA-256)', () => pipeline(Readable.from(wavPieces), new AudioGate(2 * BYTES), drain())],
    [
      'parse + AudioGate',
      () =>
        parse(pieces, () => {
          const gate = new AudioGate(2 * BYTES);
          gate.pipe(drain());
          return gate;
        }),
    ],
    ['copy into 255 KiB chunks', () => pipeline(Readable.from(wavPieces), chunkCopier())],
  ];
  const cpu = new Map<string, number[]>(steps.map(([name]) => [name, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const [name, run] of steps) {
      const usage = process.cpuUsage();
      await run();
      const used = process.cpuUsage(usage);
      cpu.get(name)!.push((used.user + used.system) / 1e6);
    }
  }
  console.log(`CPU seconds per 100 MB, median (min-max) of ${reps}`);
  for (const [name] of steps) {
    const s = spread(cpu.get(name)!);
    console.log(`  ${name.padEnd(36)} ${s.median.toFixed(3)} (${s.min.toFixed(3)}-${s.max.toFixed(3)})`);
  }
}

void main();
