import type { Db } from 'mongodb';
import { ApiClient, tokenFor } from '../../test/support/api.js';
import { streamingWav } from '../../test/support/audio.js';
import { multipartRequest } from '../../test/support/raw-http.js';
import { BOUNDARY, MB, multipartWav, reps, resetGridFs, sized, uploadPath, type BenchContext } from '../context.js';
import { load } from '../load.js';
import type { BenchTable } from '../report.js';
import { spread } from '../stats.js';
import { cpuSecondsOf, rssOf, sampleRss, type Target } from '../servers.js';

const USER = 'bench-uploader';

/** Hands out (session, question) pairs never uploaded to before, so no upload replaces another. */
export class FreshAnswers {
  private next = 0;
  private constructor(
    private readonly sessions: string[],
    private readonly questionsPerSession: number,
  ) {}

  static async create(service: Target, sessions: number, questionsPerSession: number): Promise<FreshAnswers> {
    const api = new ApiClient(service.url, tokenFor(USER));
    const ids = Array.from({ length: questionsPerSession }, (_, i) => `q${i + 1}`);
    const created: string[] = [];
    for (let i = 0; i < sessions; i++) created.push(await api.newSession(ids));
    return new FreshAnswers(created, questionsPerSession);
  }

  take(): { sessionId: string; questionId: string } {
    const n = this.next++;
    const question = Math.floor(n / this.sessions.length);
    if (question >= this.questionsPerSession) throw new Error('ran out of fresh questions');
    return { sessionId: this.sessions[n % this.sessions.length], questionId: `q${question + 1}` };
  }
}

/** Streams one generated WAV of `bytes` to the target; resolves with the seconds to its 202. */
async function streamUpload(target: Target, answers: FreshAnswers, bytes: number): Promise<number> {
  const { sessionId, questionId } = answers.take();
  const started = performance.now();
  const res = await multipartRequest(
    target.url + uploadPath(target, sessionId, questionId),
    tokenFor(USER),
    [{ name: 'audio', filename: 'long.wav', contentType: 'audio/wav', data: streamingWav(bytes) }],
    BOUNDARY,
  );
  if (res.status !== 202) throw new Error(`${target.name}: upload answered ${res.status} ${JSON.stringify(res.body)}`);
  return (performance.now() - started) / 1000;
}

export async function largeUploadThroughput(
  ctx: BenchContext,
  db: Db,
  targets: Target[],
  answers: FreshAnswers,
): Promise<BenchTable> {
  const bytes = sized(ctx, 200 * MB, 64 * MB, 1 * MB);
  const repetitions = reps(ctx, 3, 1);
  const rates = new Map(targets.map((t) => [t.name, [] as number[]]));
  const cpu = new Map(targets.map((t) => [t.name, [] as number[]]));
  for (let rep = 0; rep < repetitions; rep++) {
    // interleaved, so that a noisy moment on the shared machine hits every target alike
    for (const target of targets) {
      await resetGridFs(db);
      const cpuBefore = cpuSecondsOf(target.pid);
      const seconds = await streamUpload(target, answers, bytes);
      rates.get(target.name)!.push(bytes / MB / seconds);
      cpu.get(target.name)!.push(((cpuSecondsOf(target.pid) - cpuBefore) / (bytes / MB)) * 100);
      ctx.log(`  ${target.name}: ${bytes / MB} MB in ${seconds.toFixed(1)} s`);
    }
  }
  await resetGridFs(db);
  const rate = (name: string) => spread(rates.get(name)!).median;
  const cpuOf = (name: string) => spread(cpu.get(name)!).median;
  const [service, naive] = [rate('service'), rate('naive (multer memory)')];
  const cpuRatio = cpuOf('service') / cpuOf('raw driver');
  return {
    title: `Upload throughput, one ${bytes / MB} MB file`,
    method:
      `One client streams a ${bytes / MB} MB WAV as chunked multipart/form-data; time from the first byte sent to the 202. ` +
      `GridFS emptied before each upload; targets interleaved; ${repetitions} repetition(s). CPU = the server ` +
      'process’s user + system time per 100 MB (the database’s own CPU not included).',
    columns: [{ label: 'MB/s' }, { label: 'server CPU s per 100 MB', digits: 2 }],
    rows: targets.map((t) => ({ name: t.name, cells: [rates.get(t.name)!, cpu.get(t.name)!] })),
    ratioColumn: 0,
    target: 'MB/s ≥ the naive multer path’s; server CPU per 100 MB ≤ 1.3× the raw driver’s',
    verdict: service >= naive && cpuRatio <= 1.3 ? 'met' : 'missed',
    verdictDetail: `${((service / naive) * 100).toFixed(0)} % of the naive path's MB/s; CPU ×${cpuRatio.toFixed(2)} the raw driver's`,
  };
}

export async function uploadMemory(
  ctx: BenchContext,
  db: Db,
  targets: Target[],
  answers: FreshAnswers,
): Promise<BenchTable> {
  const bytes = sized(ctx, 1024 * MB, 256 * MB, 1 * MB);
  const warmUp = sized(ctx, 64 * MB, 64 * MB, 1 * MB);
  const growth = new Map(targets.map((t) => [t.name, [] as number[]]));
  const rates = new Map(targets.map((t) => [t.name, [] as number[]]));
  for (const target of targets) {
    // the naive baseline holds the whole file: once is enough to show it
    const repetitions = target.name === 'service' ? reps(ctx, 2, 1) : 1;
    for (let rep = 0; rep < repetitions; rep++) {
      await resetGridFs(db);
      // warm-up (modules loaded, connections open, code compiled) before the baseline RSS
      await streamUpload(target, answers, warmUp);
      await resetGridFs(db);
      const before = rssOf(target.pid);
      const stop = sampleRss(target.pid);
      const seconds = await streamUpload(target, answers, bytes);
      const peak = stop();
      growth.get(target.name)!.push((peak - before) / MB);
      rates.get(target.name)!.push(bytes / MB / seconds);
      ctx.log(
        `  ${target.name}: RSS ${(before / MB).toFixed(0)} MB before, +${((peak - before) / MB).toFixed(1)} MB peak`,
      );
    }
  }
  await resetGridFs(db);
  const service = spread(growth.get('service')!).max;
  return {
    title: `Peak server memory growth during a ${bytes / MB} MB upload`,
    method:
      `RSS of the server process sampled every 50 ms during one streamed upload, after a ${warmUp / MB} MB warm-up upload; ` +
      'growth = peak − RSS before the upload. The service is measured twice, each baseline once.',
    columns: [{ label: 'peak RSS growth (MB)' }, { label: 'MB/s' }],
    rows: targets.map((t) => ({ name: t.name, cells: [growth.get(t.name)!, rates.get(t.name)!] })),
    target: '≤ 32 MB (the naive baseline grows by the file size)',
    verdict: service <= 32 ? 'met' : 'missed',
    verdictDetail: `worst service run +${service.toFixed(1)} MB`,
  };
}

export async function concurrentSmallUploads(
  ctx: BenchContext,
  db: Db,
  targets: Target[],
  answers: FreshAnswers,
): Promise<BenchTable> {
  const fileBytes = sized(ctx, 1 * MB, 1 * MB, 64 * 1024);
  const size = fileBytes >= MB ? `${fileBytes / MB} MB` : `${fileBytes / 1024} KB`;
  const body = await multipartWav(fileBytes);
  const amount = sized(ctx, 128, 64, 8);
  const connections = sized(ctx, 64, 64, 4);
  const repetitions = reps(ctx, 3, 1);
  const p50 = new Map(targets.map((t) => [t.name, [] as number[]]));
  const p99 = new Map(targets.map((t) => [t.name, [] as number[]]));
  const rps = new Map(targets.map((t) => [t.name, [] as number[]]));
  const run = (target: Target, count: number) =>
    load({
      url: target.url,
      connections,
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokenFor(USER)}`,
        'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
      },
      body,
      amount: count,
      nextPath: () => {
        const { sessionId, questionId } = answers.take();
        return uploadPath(target, sessionId, questionId);
      },
    });
  if (!ctx.smoke) for (const target of targets) await run(target, 64); // warm-up
  for (let rep = 0; rep < repetitions; rep++) {
    for (const target of targets) {
      await resetGridFs(db);
      const result = await run(target, amount);
      if (result.failures > 0) {
        throw new Error(
          `${target.name}: ${result.failures} of ${amount} uploads failed: ${JSON.stringify(result.failureKinds)}`,
        );
      }
      p50.get(target.name)!.push(result.p50);
      p99.get(target.name)!.push(result.p99);
      rps.get(target.name)!.push(result.requestsPerSecond);
      ctx.log(`  ${target.name}: p50 ${result.p50} ms, p99 ${result.p99} ms, ${result.requestsPerSecond.toFixed(1)}/s`);
    }
  }
  await resetGridFs(db);
  const s50 = spread(p50.get('service')!).median;
  const s99 = spread(p99.get('service')!).median;
  const raw99 = spread(p99.get('raw driver')!).median;
  const met = s99 <= 1.2 * raw99;
  return {
    title: `${size} answer uploads, ${connections} concurrent clients`,
    method:
      `${amount} uploads of a ${size} WAV (multipart) over ${connections} keep-alive connections (autocannon), each to a question ` +
      `not answered before; time to the 202. ${ctx.smoke ? 'No' : 'One 64-upload'} warm-up per target; ${repetitions} repetition(s).`,
    columns: [{ label: 'p50 (ms)', digits: 0 }, { label: 'p99 (ms)', digits: 0 }, { label: 'uploads/s' }],
    rows: targets.map((t) => ({ name: t.name, cells: [p50.get(t.name)!, p99.get(t.name)!, rps.get(t.name)!] })),
    ratioColumn: 1,
    target: 'p99 ≤ 1.2× the raw-driver baseline’s p99',
    verdict: met ? 'met' : 'missed',
    verdictDetail: `p99/p50 = ${(s99 / s50).toFixed(1)}, p99 / raw p99 = ${(s99 / raw99).toFixed(2)}`,
  };
}

/** Service upload throughput and memory at several GridFS chunk sizes (the service restarts for each). */
export async function chunkSizeSweep(
  ctx: BenchContext,
  db: Db,
  sizes: number[],
  startAt: (chunkSizeBytes: number) => Promise<Target>,
): Promise<BenchTable> {
  const bytes = sized(ctx, 64 * MB, 64 * MB, 1 * MB);
  const repetitions = reps(ctx, 3, 1);
  const rows = [];
  for (const size of sizes) {
    const service = await startAt(size);
    try {
      const answers = await FreshAnswers.create(service, 1, repetitions + 1);
      if (!ctx.smoke) await streamUpload(service, answers, 8 * MB); // warm-up
      const rates: number[] = [];
      const growth: number[] = [];
      const readRates: number[] = [];
      for (let rep = 0; rep < repetitions; rep++) {
        await resetGridFs(db);
        const before = rssOf(service.pid);
        const stop = sampleRss(service.pid);
        const seconds = await streamUpload(service, answers, bytes);
        growth.push((stop() - before) / MB);
        rates.push(bytes / MB / seconds);
        readRates.push(bytes / MB / (await readBack(db)));
      }
      ctx.log(`  chunk ${size / 1024} KiB: ${spread(rates).median.toFixed(1)} MB/s`);
      rows.push({ name: `${size / 1024} KiB`, cells: [rates, growth, readRates] });
    } finally {
      await service.stop();
    }
  }
  await resetGridFs(db);
  return {
    title: `GridFS chunk size (service, one ${bytes / MB} MB upload)`,
    method:
      `The service restarted with each GRIDFS_CHUNK_SIZE_BYTES; one streamed ${bytes / MB} MB upload per repetition ` +
      `(${repetitions}), then the file read back the way the transcription job reads it (the chunks in order, 4 ` +
      'per round trip, through the driver from the bench process). The first row is the size in use.',
    columns: [{ label: 'upload MB/s' }, { label: 'peak RSS growth (MB)' }, { label: 'read-back MB/s' }],
    rows,
    ratioColumn: 0,
    target: 'chosen by measurement',
    verdict: 'not judged',
    verdictDetail: 'see the notes for the choice',
  };
}

/** Reads the one stored file's chunks in order, 4 per round trip, as AnswerAudioStore.openDownload does. */
async function readBack(db: Db): Promise<number> {
  const file = await db.collection('fs.files').findOne({});
  if (!file) throw new Error('no file to read back');
  const started = performance.now();
  const cursor = db
    .collection('fs.chunks')
    .find({ files_id: file._id }, { sort: { n: 1 }, batchSize: 4, projection: { n: 1, data: 1 } });
  let bytes = 0;
  for await (const chunk of cursor) bytes += (chunk.data as { buffer: Uint8Array }).buffer.byteLength;
  if (bytes !== file.length) throw new Error(`read back ${bytes} of ${file.length} bytes`);
  return (performance.now() - started) / 1000;
}
