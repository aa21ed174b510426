import type { Db } from 'mongodb';
import { ApiClient, tokenFor } from '../../test/support/api.js';
import { streamingWav, streamingWavSlice } from '../../test/support/audio.js';
import { multipartRequest } from '../../test/support/raw-http.js';
import { patchStream, TusClient } from '../../test/support/tus.js';
import { BOUNDARY, MB, reps, resetGridFs, sized, type BenchContext } from '../context.js';
import type { BenchTable } from '../report.js';
import { spread } from '../stats.js';
import type { Target } from '../servers.js';

const USER = 'bench-resumable';
const PATCH_BYTES = 8 * MB;

/** One file through tus in 8 MB PATCHes; seconds from the creation to the final 202. */
async function tusUpload(service: Target, sessionId: string, questionId: string, bytes: number): Promise<number> {
  const tus = new TusClient(new ApiClient(service.url, tokenFor(USER)));
  const started = performance.now();
  const id = await tus.start(sessionId, questionId, bytes);
  for (let offset = 0; offset < bytes; offset += PATCH_BYTES) {
    const length = Math.min(PATCH_BYTES, bytes - offset);
    const res = await patchStream(
      service.url,
      tokenFor(USER),
      id,
      offset,
      length,
      streamingWavSlice(bytes, offset, length),
    );
    const expected = offset + length === bytes ? 202 : 204;
    if (res.status !== expected) throw new Error(`tus PATCH at ${offset}: ${res.status} ${res.text}`);
  }
  return (performance.now() - started) / 1000;
}

/** The same file as one multipart request to the same service. */
async function multipartUpload(service: Target, sessionId: string, questionId: string, bytes: number): Promise<number> {
  const started = performance.now();
  const res = await multipartRequest(
    `${service.url}/api/upload-answer/${sessionId}/${questionId}`,
    tokenFor(USER),
    [{ name: 'audio', filename: 'long.wav', contentType: 'audio/wav', data: streamingWav(bytes) }],
    BOUNDARY,
  );
  if (res.status !== 202) throw new Error(`multipart answered ${res.status}`);
  return (performance.now() - started) / 1000;
}

/** BENCH_ONLY=resumable: the tus path's throughput against the multipart path's, on the same service. */
export async function resumableThroughput(ctx: BenchContext, db: Db, service: Target): Promise<BenchTable> {
  const bytes = sized(ctx, 128 * MB, 32 * MB, 1 * MB);
  const repetitions = reps(ctx, 3, 1);
  const api = new ApiClient(service.url, tokenFor(USER));
  const questions = Array.from({ length: repetitions * 2 }, (_, i) => `q${i + 1}`);
  const sessionId = await api.newSession(questions);
  const rates = { multipart: [] as number[], tus: [] as number[] };
  for (let rep = 0; rep < repetitions; rep++) {
    // interleaved, so that a noisy moment on the shared machine hits both alike
    await resetGridFs(db);
    const m = await multipartUpload(service, sessionId, `q${rep * 2 + 1}`, bytes);
    rates.multipart.push(bytes / MB / m);
    await resetGridFs(db);
    const t = await tusUpload(service, sessionId, `q${rep * 2 + 2}`, bytes);
    rates.tus.push(bytes / MB / t);
    ctx.log(`  multipart ${m.toFixed(1)} s, tus ${t.toFixed(1)} s for ${bytes / MB} MB`);
  }
  await resetGridFs(db);
  const ratio = spread(rates.tus).median / spread(rates.multipart).median;
  return {
    title: `Resumable (tus) upload throughput, one ${bytes / MB} MB file`,
    method:
      `The same service takes a ${bytes / MB} MB WAV once as one multipart request and once through tus ` +
      `(creation, then 8 MB PATCHes, to the final 202); GridFS emptied before each; interleaved; ${repetitions} repetition(s).`,
    columns: [{ label: 'MB/s' }],
    rows: [
      { name: 'multipart', cells: [rates.multipart] },
      { name: 'tus', cells: [rates.tus] },
    ],
    target: 'tus ≥ 50 % of multipart',
    verdict: ratio >= 0.5 ? 'met' : 'missed',
    verdictDetail: `${(ratio * 100).toFixed(0)} %`,
  };
}
