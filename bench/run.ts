/**
 * `npm run bench`: every benchmark and its baselines in one run, against one database on 127.0.0.1
 * (MONGODB_URI's server if given, otherwise a FerretDB of its own on FERRETDB_HANDLER's backend,
 * PostgreSQL by default, or a mongod), then docs/benchmarks.md. BENCH_QUICK=1 (or --quick) runs
 * shorter, smaller and once, for development, and writes dist-bench/BENCHMARKS.quick.md instead.
 * Each full run also keeps its tables in bench/results/<backend>.json; the PostgreSQL report shows
 * the SQLite run's figures wherever the backend changes a verdict (FERRETDB_HANDLER=sqlite npm
 * run bench makes that run, and writes dist-bench/BENCHMARKS.sqlite.md). `--smoke` (part of `npm test`)
 * runs every group once with tiny sizes, judges no target and writes dist-bench/BENCHMARKS.smoke.md: it
 * fails when a benchmark no longer runs, never because of a timing.
 */
import { resumableThroughput } from './benchmarks/resumable.js';
import { MongoClient, ObjectId, type Db } from 'mongodb';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { addPostgresIndexes, ferretHandler } from '../test/support/ferretdb.js';
import { ApiClient, tokenFor } from '../test/support/api.js';
import { wavTone } from '../test/support/audio.js';
import { FakeOpenAI } from '../test/support/fake-openai.js';
import { PrivateDatabase } from '../test/support/private-database.js';
import { MB, sized, type BenchContext } from './context.js';
import {
  chunkSizeSweep,
  concurrentSmallUploads,
  FreshAnswers,
  largeUploadThroughput,
  uploadMemory,
} from './benchmarks/uploads.js';
import { pipelineLatency } from './benchmarks/pipeline.js';
import { speechMeasurement, speechPassLatency } from './benchmarks/speech.js';
import { resultsLatency } from './benchmarks/results.js';
import { aheadLatency } from './benchmarks/ahead.js';
import { analyzePending, scaleLatency, scaleTable, statusThroughput } from './benchmarks/reads.js';
import { machineDescription, renderReport, type BenchTable } from './report.js';
import { startBaseline, startService, type Target } from './servers.js';

const ROOT = join(import.meta.dirname, '../..');
const smoke = process.argv.includes('--smoke');
const quick = smoke || process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
/** Which backend the report is for: the report of record is PostgreSQL's. */
const backend = ferretHandler();
const output =
  process.env.BENCH_OUT ??
  join(
    ROOT,
    smoke
      ? 'dist-bench/BENCHMARKS.smoke.md'
      : quick
        ? 'dist-bench/BENCHMARKS.quick.md'
        : backend === 'sqlite'
          ? 'dist-bench/BENCHMARKS.sqlite.md'
          : 'docs/benchmarks.md',
  );
const resultsFile = (of: string) => join(ROOT, 'bench/results', `${of}.json`);
/** BENCH_ONLY=pipeline,speech,reads,uploads,resumable,chunks,results,ahead,scale runs only those groups (for development). */
const only = process.env.BENCH_ONLY?.split(',');
const want = (group: string) => !only || only.includes(group);
const TRANSCRIPTION_CONCURRENCY = 4;
const SCALE_SESSIONS = smoke ? 50 : 10_000;
/** The whole run is bounded: past this the bench stops its servers and fails. */
const TIME_LIMIT_MS = Number(process.env.BENCH_TIME_LIMIT_MS ?? (smoke ? 3 : 30) * 60_000);

const started = new Date();
const log = (message: string) =>
  console.log(`[bench ${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(4)} s] ${message}`);
const running = new Set<Target>();
let privateDb: PrivateDatabase | undefined;

async function track<T extends Target>(target: Promise<T>): Promise<T> {
  const t = await target;
  running.add(t);
  return t;
}

async function stop(...targets: Target[]): Promise<void> {
  for (const t of targets) {
    running.delete(t);
    await t.stop();
  }
}

async function shutdown(): Promise<void> {
  await Promise.all([...running].map((t) => t.stop().catch(() => undefined)));
  await privateDb?.close().catch(() => undefined);
}

const watchdog = setTimeout(() => {
  console.error(`bench: over its ${TIME_LIMIT_MS / 60_000} min limit; stopping`);
  void shutdown().finally(() => process.exit(1));
}, TIME_LIMIT_MS);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void shutdown().finally(() => process.exit(130)));
}

/** The service's own default chunk size, read from its built configuration so the two never drift. */
async function serviceChunkSize(): Promise<number> {
  const { StorageEnvironment } = (await import(join(ROOT, 'dist/config/settings/storage.settings.js'))) as {
    StorageEnvironment: new () => { GRIDFS_CHUNK_SIZE_BYTES: number };
  };
  return Number(process.env.GRIDFS_CHUNK_SIZE_BYTES ?? new StorageEnvironment().GRIDFS_CHUNK_SIZE_BYTES);
}

async function describeDatabase(db: Db): Promise<string> {
  const info = await db.admin().command({ buildInfo: 1 });
  // FerretDB does not say which backend it runs on; FERRETDB_HANDLER chose it (or describes MONGODB_URI's)
  const on = backend === 'sqlite' ? 'SQLite' : 'PostgreSQL';
  return info.ferretdbVersion ? `FerretDB ${info.ferretdbVersion} (${on} backend)` : `MongoDB ${info.version}`;
}

/** Uploads 10 small answers to a new 10-question session; returns its id. */
async function tenAnswerSession(service: Target, userId: string): Promise<string> {
  const api = new ApiClient(service.url, tokenFor(userId));
  const questions = Array.from({ length: 10 }, (_, i) => `q${i + 1}`);
  const sessionId = await api.newSession(questions);
  for (const [i, q] of questions.entries()) {
    const res = await api.upload(sessionId, q, wavTone(0.5, 200 + i * 40), { filename: `${q}.wav` });
    if (res.status !== 202) throw new Error(`seeding ${q}: ${res.status}`);
  }
  return sessionId;
}

async function main(): Promise<void> {
  let base = process.env.MONGODB_URI;
  if (!base) {
    privateDb = await PrivateDatabase.start();
    base = privateDb.uri;
  }
  const suffix = Date.now().toString(36);
  const uri = (database: string) => {
    const url = new URL(base);
    url.pathname = `/bench_${database}_${suffix}`;
    return url.toString();
  };
  const ctx: BenchContext = { quick, smoke, uri, chunkSizeBytes: await serviceChunkSize(), log };
  const client = await MongoClient.connect(uri('main'));
  const db = client.db();
  const database = await describeDatabase(db);
  log(`${smoke ? 'smoke' : quick ? 'quick' : 'full'} run on ${database}; chunk size ${ctx.chunkSizeBytes} bytes`);
  const fake = await FakeOpenAI.start();
  const tables: BenchTable[] = [];
  // the report is rewritten after every benchmark, so a run stopped by its time limit keeps what it measured
  const push = (table: BenchTable) => {
    // a smoke run's figures come from tiny sizes on a busy CI machine: they judge nothing
    tables.push(smoke ? { ...table, verdict: 'not judged', verdictDetail: 'smoke run' } : table);
    writeReport(database, tables, false);
  };

  // 1. the whole pipeline, worker included; it also leaves a session with 10 transcribed answers
  log('pipeline latency');
  const worker = await track(
    startService(uri('main'), { ROLE: 'all', TRANSCRIPTION_CONCURRENCY: String(TRANSCRIPTION_CONCURRENCY) }, fake.url),
  );
  if (want('pipeline')) push(await pipelineLatency(ctx, db, worker, fake, TRANSCRIPTION_CONCURRENCY));
  const transcribed = await tenAnswerSession(worker, 'bench-reader');
  for (;;) {
    const res = await new ApiClient(worker.url, tokenFor('bench-reader')).sessionStatus(transcribed);
    if ((res.body as { summary?: { completed?: number } }).summary?.completed === 10) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop(worker);

  // 1b. the speech measurement: its cost per audio minute, its memory, and what it adds to the pipeline
  if (want('speech')) {
    log('speech measurement');
    for (const table of await speechMeasurement(ctx)) push(table);
    push(
      await speechPassLatency(
        ctx,
        db,
        fake,
        (env) => track(startService(uri('main'), { ROLE: 'all', ...env }, fake.url)),
        (target) => stop(target),
      ),
    );
  }

  // 2. the API alone (no worker, so answers stay queued) next to both baselines
  const service = await track(startService(uri('main'), { ROLE: 'api' }));
  const raw = await track(startBaseline('raw driver', 'raw-driver', uri('main'), ctx.chunkSizeBytes));
  const naive = await track(startBaseline('naive (multer memory)', 'naive-multer', uri('main'), ctx.chunkSizeBytes));
  const pending = await tenAnswerSession(service, 'bench-analyst');

  if (want('reads')) {
    log('status reads');
    const status = { route: 'status', sessionId: transcribed, userId: 'bench-reader' } as const;
    push(await statusThroughput(ctx, [service, raw, naive], status));
    log('analyze while pending');
    const analyze = { route: 'analyze', sessionId: pending, userId: 'bench-analyst' } as const;
    for (const connections of [1, 16]) push(await analyzePending(ctx, [service, raw], analyze, connections));
  }
  if (want('uploads')) {
    const answers = await FreshAnswers.create(service, sized(ctx, 64, 64, 4), 40);
    log('1 MB uploads × 64');
    push(await concurrentSmallUploads(ctx, db, [service, raw, naive], answers));
    log('large upload throughput');
    push(await largeUploadThroughput(ctx, db, [service, raw, naive], answers));
    log('large upload memory');
    push(await uploadMemory(ctx, db, [service, raw, naive], answers));
  }
  if (want('resumable')) {
    log('resumable (tus) upload throughput against multipart');
    push(await resumableThroughput(ctx, db, service));
  }
  await stop(service, raw, naive);

  // 3. chunk sizes: the one in use first, then the others tried
  if (want('chunks')) {
    log('chunk sizes');
    const tried = [64 * 1024, 255 * 1024, 1 * MB, 4 * MB];
    const sizes = [ctx.chunkSizeBytes, ...tried.filter((s) => s !== ctx.chunkSizeBytes)];
    push(
      await chunkSizeSweep(
        ctx,
        db,
        smoke ? [ctx.chunkSizeBytes] : quick ? [ctx.chunkSizeBytes, 1 * MB] : sizes,
        (size) => track(startService(uri('main'), { ROLE: 'api', GRIDFS_CHUNK_SIZE_BYTES: String(size) })),
      ),
    );
  }

  if (want('results'))
    push(await resultsLatency(ctx, (env) => track(startService(uri('results'), env, fake.url)), stop, fake));

  if (want('ahead'))
    push(await aheadLatency(ctx, (openaiUrl) => track(startService(uri('ahead'), {}, openaiUrl)), stop));

  // 4. indexes: the same reads with 10 and with 10,000 sessions in the collection
  if (want('scale')) await scaleBenchmark(ctx, uri, push);

  await db.dropDatabase().catch(() => undefined);
  await client.close();
  await fake.close();
  writeReport(database, tables, true);
}

/** Status and analyze latency with 10 sessions in the collection, then with SCALE_SESSIONS. */
async function scaleBenchmark(ctx: BenchContext, uri: (database: string) => string, push: (table: BenchTable) => void) {
  log(`10 vs ${SCALE_SESSIONS.toLocaleString('en-US')} sessions`);
  const scaleClient = await MongoClient.connect(uri('scale'));
  const scaleDb = scaleClient.db();
  const scaled = await track(startService(uri('scale'), { ROLE: 'api' }));
  // the measured session is always the newest, i.e. the last in the collection: a server that
  // scans (FerretDB on SQLite does, even for _id) then reads every session before finding it
  const api = new ApiClient(scaled.url, tokenFor('bench-scale-other'));
  for (let i = 0; i < 9; i++) await api.newSession(['q1']);
  const first = await tenAnswerSession(scaled, 'bench-scale');
  const small = await scaleLatency(ctx, scaled, { sessionId: first, userId: 'bench-scale' });
  const template = await scaleDb.collection('interview_sessions').findOne({ _id: new ObjectId(first) });
  for (let done = 10; done < SCALE_SESSIONS - 1;) {
    const batch = Array.from({ length: Math.min(500, SCALE_SESSIONS - 1 - done) }, (_, i) => ({
      ...template,
      _id: new ObjectId(),
      user_id: `bench-scale-${done + i}`,
      created_at: new Date(Date.now() - (done + i) * 1000),
    }));
    await scaleDb.collection('interview_sessions').insertMany(batch);
    done += batch.length;
  }
  // inserted like the others: ten uploads through the API would each update a session on a
  // server that (FerretDB) decodes all 10,000 for that, and the reads are what is measured here
  const newestId = new ObjectId();
  await scaleDb.collection('interview_sessions').insertOne({ ...template, _id: newestId, created_at: new Date() });
  const newest = String(newestId);
  const large = await scaleLatency(ctx, scaled, { sessionId: newest, userId: 'bench-scale' });
  // FerretDB on PostgreSQL: the same reads once the GIN indexes of docs/operations.md exist (its own cannot serve them)
  let indexed: number[][] | undefined;
  if (privateDb?.postgresUrl) {
    await addPostgresIndexes(privateDb.postgresUrl, scaleDb.databaseName);
    indexed = await scaleLatency(ctx, scaled, { sessionId: newest, userId: 'bench-scale' });
  }
  push(scaleTable(ctx, small, large, SCALE_SESSIONS, indexed));
  await stop(scaled);
  await scaleDb.dropDatabase().catch(() => undefined);
  await scaleClient.close();
}

/** The SQLite run's tables, next to which the PostgreSQL report shows changed verdicts. */
function comparison(): { label: string; tables: BenchTable[] } | undefined {
  if (quick || backend !== 'postgresql' || !existsSync(resultsFile('sqlite'))) return undefined;
  const saved = JSON.parse(readFileSync(resultsFile('sqlite'), 'utf8')) as { database: string; tables: BenchTable[] };
  return { label: saved.database.replace(/^FerretDB \S+ \((\w+) backend\)$/, 'FerretDB/$1'), tables: saved.tables };
}

interface SavedRun {
  database: string;
  at: string;
  finished?: string;
  /** The machine of the full run (absent in runs saved before it was recorded). */
  machine?: string;
  /** The Node.js version of the full run (absent in runs saved before it was recorded). */
  node?: string;
  /** Set when some tables come from a later BENCH_ONLY run. */
  merged?: string[];
  tables: BenchTable[];
}

/**
 * A full run replaces bench/results/<backend>.json; a BENCH_ONLY run replaces only its own tables
 * in it (the others keep their run's figures), and the report says so.
 */
function saveResults(database: string, tables: BenchTable[]): SavedRun {
  const file = resultsFile(backend);
  const now = new Date().toISOString();
  const machine = machineDescription();
  let run: SavedRun = {
    database,
    machine,
    node: process.versions.node,
    at: started.toISOString(),
    finished: now,
    tables,
  };
  if (only && existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedRun;
    const fresh = new Map(tables.map((t) => [t.title, t]));
    const elsewhere = saved.machine !== machine ? ` on ${machine}` : '';
    run = {
      ...saved,
      merged: [...(saved.merged ?? []), `${only.join(',')} on ${started.toISOString().slice(0, 16)} UTC${elsewhere}`],
      tables: [
        ...saved.tables.map((t) => fresh.get(t.title) ?? t),
        ...tables.filter((t) => !saved.tables.some((o) => o.title === t.title)),
      ],
    };
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(run, null, 1) + '\n');
  return run;
}

function writeReport(database: string, tables: BenchTable[], complete: boolean): void {
  const run = complete && !quick ? saveResults(database, tables) : undefined;
  const merged = run?.merged?.length ? `; tables re-measured later by BENCH_ONLY: ${run.merged.join('; ')}` : '';
  writeFileSync(
    output,
    renderReport(
      {
        machine: run?.machine ?? machineDescription(),
        node: run ? (run.node ?? 'not recorded') : process.versions.node,
        startedAt: run ? new Date(run.at) : started,
        finishedAt: run?.finished ? new Date(run.finished) : new Date(),
        mode:
          (smoke
            ? 'smoke run: tiny sizes, one repetition, no target judged'
            : quick
              ? 'quick mode: smaller files, shorter runs, fewer repetitions'
              : 'full run') +
          (complete ? '' : '; INCOMPLETE: the run stopped before its last benchmark') +
          merged,
        database,
        notesFile: join(ROOT, 'bench/NOTES.md'),
      },
      run?.tables ?? tables,
      comparison(),
    ),
  );
  if (complete) log(`wrote ${output}`);
}

/** BENCH_REPORT_ONLY=1: docs/benchmarks.md again from the saved tables and bench/NOTES.md, measuring nothing. */
function reportOnly(): void {
  const saved = JSON.parse(readFileSync(resultsFile(backend), 'utf8')) as SavedRun;
  const merged = saved.merged?.length ? `; tables re-measured later by BENCH_ONLY: ${saved.merged.join('; ')}` : '';
  writeFileSync(
    output,
    renderReport(
      {
        machine: saved.machine ?? 'not recorded',
        node: saved.node ?? 'not recorded',
        startedAt: new Date(saved.at),
        finishedAt: new Date(saved.finished ?? saved.at),
        mode: `full run${merged}`,
        database: saved.database,
        notesFile: join(ROOT, 'bench/NOTES.md'),
      },
      saved.tables,
      comparison(),
    ),
  );
  console.log(`wrote ${output} from ${resultsFile(backend)}`);
}

if (process.env.BENCH_REPORT_ONLY === '1') {
  reportOnly();
  process.exit(0);
}

main()
  .then(shutdown)
  .then(() => process.exit(0))
  .catch(async (error: Error) => {
    console.error(error);
    await shutdown();
    process.exit(1);
  });
