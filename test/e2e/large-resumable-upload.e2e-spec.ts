import { ObjectId } from 'mongodb';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { streamingWavSlice } from '../support/audio.js';
import { useE2eApp } from '../support/e2e.js';
import { patchStream, TusClient } from '../support/tus.js';

// 512 MB in 8 MB PATCHes, as the issue asks; LARGE_RESUMABLE_UPLOAD_BYTES changes the size.
const SIZE = Number(process.env.LARGE_RESUMABLE_UPLOAD_BYTES ?? 512 * 1024 * 1024);
const PATCH_BYTES = 8 * 1024 * 1024;

const { db, app } = useE2eApp('large_tus', {
  // without a key, jobs fail at once without reading the audio: the measurement sees the upload alone
  server: { apiKey: null, stopWith: 'SIGKILL' },
});

/** Sends `size` bytes through tus in PATCH_BYTES pieces; returns the last response and the bytes' SHA-256. */
async function upload(tus: TusClient, sessionId: string, size: number) {
  const id = await tus.start(sessionId, 'long', size);
  const hash = createHash('sha256');
  let last = { status: 0, text: '' };
  for (let offset = 0; offset < size; offset += PATCH_BYTES) {
    const length = Math.min(PATCH_BYTES, size - offset);
    const body = streamingWavSlice(size, offset, length);
    body.on('data', (chunk: Buffer) => hash.update(chunk));
    last = await patchStream(app.url, tokenFor('alice'), id, offset, length, body);
    if (last.status !== (offset + length === size ? 202 : 204))
      throw new Error(`PATCH at ${offset}: ${last.status} ${last.text}`);
  }
  return { id, last, sha256: hash.digest('hex') };
}

describe('a large resumable upload', () => {
  it(
    `takes ${SIZE / 1024 / 1024} MB in 8 MB PATCHes without holding it in memory`,
    { timeout: 1_500_000 },
    async () => {
      const tus = new TusClient(new ApiClient(app.url, tokenFor('alice')));
      const sessionId = await new ApiClient(app.url, tokenFor('alice')).newSession(['long']);
      // The server's RSS during any steady upload is a sawtooth: V8 frees dead ArrayBuffers (each
      // socket read and each chunk's BSON) only at a full collection, which it starts once external
      // memory has grown by about 64 MB, so RSS swings by tens of megabytes whatever the size. One
      // sample taken after the warm-up lands anywhere on that sawtooth; its top, over a warm-up of
      // 128 MB, is the baseline that says what a longer upload adds.
      const { peak: warmUpPeak } = await app.peakRssDuring(() =>
        upload(tus, sessionId, Math.min(128 * 1024 * 1024, SIZE)),
      );
      const before = app.memory();
      const started = Date.now();
      const {
        result: { id, last, sha256 },
        peak,
      } = await app.peakRssDuring(() => upload(tus, sessionId, SIZE));
      const seconds = (Date.now() - started) / 1000;
      const growthMb = (peak - warmUpPeak) / 1024 / 1024;
      console.log(
        `large tus upload: ${SIZE / 1024 / 1024} MB in ${seconds.toFixed(1)} s (${(SIZE / 1024 / 1024 / seconds).toFixed(0)} MB/s), ` +
          `server RSS peak ${Math.round(warmUpPeak / 1024 / 1024)} MB over the warm-up, ${Math.round(peak / 1024 / 1024)} MB over the upload: ` +
          `growth ${growthMb.toFixed(1)} MB (${((peak - before.rss) / 1024 / 1024).toFixed(1)} MB above the RSS sampled once after the warm-up)`,
      );
      expect(JSON.parse(last.text)).toMatchObject({ file_id: id, sha256 });
      const file = await db.db.collection('fs.files').findOne({ _id: new ObjectId(id) });
      expect(file!.length).toBe(SIZE);
      expect(file!.metadata.sha256).toBe(sha256);
      expect(growthMb).toBeLessThanOrEqual(32);
    },
  );
});
