import { tokenFor } from '../../test/support/api.js';
import { reps, sized, type BenchContext } from '../context.js';
import { load, type LoadResult } from '../load.js';
import type { BenchTable } from '../report.js';
import { spread } from '../stats.js';
import type { Target } from '../servers.js';

interface ReadSpec {
  route: 'status' | 'analyze';
  sessionId: string;
  userId: string;
}

function readRequest(target: Target, spec: ReadSpec) {
  const service = target.name === 'service';
  const path =
    spec.route === 'status'
      ? service
        ? `/api/transcription-status/${spec.sessionId}`
        : `/status/${spec.sessionId}`
      : service
        ? `/api/analyze/${spec.sessionId}`
        : `/analyze/${spec.sessionId}`;
  return {
    url: target.url + path,
    method: spec.route === 'status' ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${tokenFor(spec.userId)}` },
  };
}

/** Repeated, interleaved autocannon runs against each target; failures (non-2xx) abort the bench. */
async function measure(
  ctx: BenchContext,
  targets: Target[],
  spec: ReadSpec,
  connections: number,
  repetitions: number,
  budget: { amount?: number; durationSeconds?: number },
): Promise<Map<string, LoadResult[]>> {
  const results = new Map(targets.map((t) => [t.name, [] as LoadResult[]]));
  if (!ctx.smoke) {
    for (const target of targets) await load({ ...readRequest(target, spec), connections, durationSeconds: 1 });
  }
  for (let rep = 0; rep < repetitions; rep++) {
    for (const target of targets) {
      const result = await load({ ...readRequest(target, spec), connections, ...budget });
      if (result.failures > 0) {
        throw new Error(
          `${target.name} ${spec.route}: ${result.failures} failed requests: ${JSON.stringify(result.failureKinds)}`,
        );
      }
      results.get(target.name)!.push(result);
      ctx.log(
        `  ${target.name} ${spec.route} ×${connections}: ${result.requestsPerSecond.toFixed(0)}/s, p50 ${result.p50} ms, p99 ${result.p99} ms`,
      );
    }
  }
  return results;
}

const columns = [{ label: 'req/s', digits: 0 }, { label: 'p50 (ms)' }, { label: 'p99 (ms)' }];
const cells = (runs: LoadResult[]) => [
  runs.map((r) => r.requestsPerSecond),
  runs.map((r) => r.p50),
  runs.map((r) => r.p99),
];

export async function statusThroughput(ctx: BenchContext, targets: Target[], spec: ReadSpec): Promise<BenchTable> {
  const repetitions = reps(ctx, 3, 2);
  const durationSeconds = sized(ctx, 8, 3, 1);
  const results = await measure(ctx, targets, spec, 64, repetitions, { durationSeconds });
  const service = spread(results.get('service')!.map((r) => r.requestsPerSecond)).median;
  const raw = spread(results.get('raw driver')!.map((r) => r.requestsPerSecond)).median;
  return {
    title: 'GET transcription-status of a 10-question session, 64 connections',
    method:
      `autocannon, 64 keep-alive connections, ${durationSeconds} s per run after a 1 s warm-up, ${repetitions} ` +
      'interleaved repetition(s). The session has 10 transcribed answers. The service authenticates the JWT, reads ' +
      'the session once (by _id, question texts and rubrics left out, the owner checked) and builds the status ' +
      'view; the baselines do a bare findOne by _id and send the document.',
    columns,
    rows: targets.map((t) => ({ name: t.name, cells: cells(results.get(t.name)!) })),
    ratioColumn: 0,
    target: '≥ 90 % of the raw findOne baseline’s req/s',
    verdict: service >= 0.9 * raw ? 'met' : 'missed',
    verdictDetail: `${((service / raw) * 100).toFixed(0)} %`,
  };
}

export async function analyzePending(
  ctx: BenchContext,
  targets: Target[],
  spec: ReadSpec,
  connections: number,
): Promise<BenchTable> {
  const repetitions = reps(ctx, 3, 2);
  const budget = connections === 1 ? { amount: sized(ctx, 500, 200, 20) } : { durationSeconds: sized(ctx, 6, 3, 1) };
  const results = await measure(ctx, targets, spec, connections, repetitions, budget);
  const p99 = spread(results.get('service')!.map((r) => r.p99)).median;
  return {
    title: `POST analyze while transcriptions are pending, ${connections} connection${connections > 1 ? 's' : ''}`,
    method:
      `autocannon, ${connections} keep-alive connection(s), ${budget.amount ? `${budget.amount} requests` : `${budget.durationSeconds} s`} per ` +
      `run, ${repetitions} interleaved repetition(s). The session has 10 answers queued (no worker runs), so every ` +
      'call is a 202 with Retry-After. The raw baseline does a findOne and counts the queued answers.',
    columns,
    rows: targets.map((t) => ({ name: t.name, cells: cells(results.get(t.name)!) })),
    ratioColumn: 2,
    target: 'p99 ≤ 20 ms',
    verdict: p99 <= 20 ? 'met' : 'missed',
    verdictDetail: `service p99 ${p99.toFixed(1)} ms`,
  };
}

export async function scaleLatency(ctx: BenchContext, service: Target, spec: Omit<ReadSpec, 'route'>) {
  const repetitions = reps(ctx, 3, 2);
  // bounded in time, not requests: on a server that scans, one call at 10,000 sessions can take a second
  const budget = { durationSeconds: sized(ctx, 6, 3, 1) };
  const status = await measure(ctx, [service], { ...spec, route: 'status' }, 1, repetitions, budget);
  const analyze = await measure(ctx, [service], { ...spec, route: 'analyze' }, 1, repetitions, budget);
  const s = status.get('service')!;
  const a = analyze.get('service')!;
  return [s.map((r) => r.p50), s.map((r) => r.p99), a.map((r) => r.p50), a.map((r) => r.p99)];
}

/**
 * `indexed`, when given, is the same large collection after scripts/ferretdb-postgresql-indexes.sql
 * (FerretDB on PostgreSQL): the verdict is then judged on it, as docs/operations.md advises that deployment.
 */
export function scaleTable(
  ctx: BenchContext,
  small: number[][],
  large: number[][],
  sessions: number,
  indexed?: number[][],
): BenchTable {
  const ratioOf = (rows: number[][], i: number) => spread(rows[i]).median / spread(small[i]).median;
  const judged = indexed ?? large;
  const worst = Math.max(ratioOf(judged, 0), ratioOf(judged, 2));
  const detail = (rows: number[][]) =>
    `status p50 ×${ratioOf(rows, 0).toFixed(2)}, analyze p50 ×${ratioOf(rows, 2).toFixed(2)}`;
  const count = sessions.toLocaleString('en-US');
  return {
    title: `Status and analyze latency with 10 and with ${sessions.toLocaleString('en-US')} sessions in the collection`,
    method:
      `One connection, ${sized(ctx, 6, 3, 1)} s per run, ${reps(ctx, 3, 2)} repetition(s), first with 10 ` +
      `sessions in the collection, then with ${sessions.toLocaleString('en-US')} (copies of the first measured ` +
      'session under other users, then a new one). The measured session is each time the newest (the last in the ' +
      'collection) and has 10 queued answers.',
    columns: [
      { label: 'status p50 (ms)', digits: 2 },
      { label: 'status p99 (ms)', digits: 2 },
      { label: 'analyze p50 (ms)', digits: 2 },
      { label: 'analyze p99 (ms)', digits: 2 },
    ],
    rows: [
      { name: '10 sessions', cells: small },
      { name: `${count} sessions`, cells: large },
      ...(indexed ? [{ name: `${count} sessions, with the PostgreSQL GIN indexes (scripts/)`, cells: indexed }] : []),
    ],
    target: 'no worse than with 10 sessions by more than 20 % (p50)',
    verdict: worst <= 1.2 ? 'met' : 'missed',
    verdictDetail: indexed
      ? `with the GIN indexes ${detail(indexed)}; with FerretDB's own indexes only ${detail(large)}`
      : detail(large),
  };
}
