import type { Db } from 'mongodb';
import { ObjectId } from 'mongodb';
import { ApiClient, tokenFor } from '../../test/support/api.js';
import { wavTone } from '../../test/support/audio.js';
import type { FakeOpenAI } from '../../test/support/fake-openai.js';
import { reps, sized, type BenchContext } from '../context.js';
import type { BenchTable } from '../report.js';
import { percentile, spread } from '../stats.js';
import type { Target } from '../servers.js';

/** What the bench reads of an answer: how it ended, and when. */
interface TranscribedAnswer {
  transcription_status: string;
  transcription_error?: string | null;
  transcribed_at?: Date | null;
}

const USER = 'bench-pipeline';

interface Burst {
  p50: number;
  p99: number;
  perSecond: number;
  providerInFlight: number;
}

/**
 * Uploads `count` answers at once (one session each, as many candidates would) and waits until all
 * are transcribed. Latency of an answer = its transcribed_at (written by the server) − the moment its
 * 202 reached the client; both clocks are this machine's.
 */
async function burst(service: Target, db: Db, fake: FakeOpenAI, count: number): Promise<Burst> {
  const api = new ApiClient(service.url, tokenFor(USER));
  const sessions: string[] = [];
  for (let i = 0; i < count; i++) sessions.push(await api.newSession(['a']));
  const audio = wavTone(0.5, 300 + (count % 7) * 50);
  fake.reset();
  const started = Date.now();
  const acceptedAt = await Promise.all(
    sessions.map(async (sessionId) => {
      const res = await api.upload(sessionId, 'a', audio, { filename: 'a.wav', contentType: 'audio/wav' });
      if (res.status !== 202) throw new Error(`pipeline upload answered ${res.status}`);
      return Date.now();
    }),
  );
  const ids = sessions.map((id) => new ObjectId(id));
  const deadline = Date.now() + 180_000;
  for (;;) {
    const docs = await db
      .collection<{ answers?: { a?: TranscribedAnswer } }>('interview_sessions')
      .find({ _id: { $in: ids } }, { projection: { 'answers.a': 1 } })
      .toArray();
    const done = docs.filter((d) => ['completed', 'failed'].includes(d.answers?.a?.transcription_status ?? ''));
    if (done.length === count) {
      const failed = done.filter((d) => d.answers?.a?.transcription_status === 'failed');
      if (failed.length)
        throw new Error(`${failed.length} transcriptions failed: ${failed[0].answers?.a?.transcription_error}`);
      const byId = new Map(docs.map((d) => [String(d._id), d.answers!.a!.transcribed_at!.getTime()]));
      const latencies = sessions.map((id, i) => byId.get(id)! - acceptedAt[i]);
      const last = Math.max(...byId.values());
      return {
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        perSecond: count / ((last - started) / 1000),
        providerInFlight: fake.maxInFlight,
      };
    }
    if (Date.now() > deadline) throw new Error(`pipeline: ${done.length} of ${count} done after 180 s`);
    await new Promise((r) => setTimeout(r, count === 1 ? 5 : 25));
  }
}

export async function pipelineLatency(
  ctx: BenchContext,
  db: Db,
  service: Target,
  fake: FakeOpenAI,
  concurrency: number,
): Promise<BenchTable> {
  const slowProviderMs = 200;
  const [sixteen, sixtyFour] = [sized(ctx, 16, 16, 2), sized(ctx, 64, 64, 3)];
  const levels = [
    { name: '1 in flight', count: 1, repetitions: reps(ctx, 15, 5), delayMs: 0 },
    { name: `${sixteen} in flight`, count: sixteen, repetitions: reps(ctx, 3, 1), delayMs: 0 },
    { name: `${sixtyFour} in flight`, count: sixtyFour, repetitions: reps(ctx, 2, 1), delayMs: 0 },
    {
      name: `${sixteen} in flight, provider ${slowProviderMs} ms`,
      count: sixteen,
      repetitions: reps(ctx, 2, 1),
      delayMs: slowProviderMs,
    },
  ];
  if (!ctx.smoke) await burst(service, db, fake, 1); // warm-up
  const rows = [];
  const results = new Map<string, Burst[]>();
  for (const level of levels) {
    fake.setDefault({ kind: 'ok', delayMs: level.delayMs || undefined });
    const bursts: Burst[] = [];
    for (let rep = 0; rep < level.repetitions; rep++) bursts.push(await burst(service, db, fake, level.count));
    fake.setDefault({ kind: 'ok' });
    results.set(level.name, bursts);
    ctx.log(`  ${level.name}: p50 ${spread(bursts.map((b) => b.p50)).median} ms`);
    rows.push({
      name: level.name,
      cells: [
        bursts.map((b) => b.p50),
        bursts.map((b) => b.p99),
        bursts.map((b) => b.perSecond),
        bursts.map((b) => b.providerInFlight),
      ],
    });
  }
  const single = spread(results.get('1 in flight')!.map((b) => b.p50)).median;
  const slowBursts = results.get(levels[3].name)!;
  const slow = spread(slowBursts.map((b) => b.perSecond)).median;
  const slowInFlight = Math.max(...slowBursts.map((b) => b.providerInFlight));
  const ceiling = concurrency / (slowProviderMs / 1000);
  const wanted = 0.9 * ceiling;
  return {
    title: 'Pipeline latency: 202 → completed, provider answering at once',
    method:
      `N answers uploaded at once (one session each, 16 KB WAV), the fake provider answering instantly ` +
      `(over real HTTP, through the openai SDK); TRANSCRIPTION_CONCURRENCY=${concurrency}. Latency = the answer's ` +
      'transcribed_at − its 202 at the client (so the completion write itself is not included). answers/s = N ÷ (last ' +
      `completion − first upload sent). The last row gives the provider ${slowProviderMs} ms per call, so the ` +
      `concurrency limit alone would allow ${ceiling.toFixed(0)} answers/s. 1 in flight: ${levels[0].repetitions} ` +
      'uploads one after another; the others: repetitions of the burst.',
    columns: [
      { label: 'p50 (ms)', digits: 0 },
      { label: 'p99 (ms)', digits: 0 },
      { label: 'answers/s' },
      { label: 'provider calls in flight (max)', digits: 0 },
    ],
    rows,
    target:
      `p50 ≤ 40 ms at 1 in flight; with a ${slowProviderMs} ms provider and ${sixteen} in flight ≥ ${wanted.toFixed(0)} ` +
      `answers/s (90 % of what TRANSCRIPTION_CONCURRENCY allows) and ${concurrency} provider calls in flight`,
    verdict: single <= 40 && slow >= wanted && slowInFlight === concurrency ? 'met' : 'missed',
    verdictDetail:
      `p50 at 1 in flight ${single.toFixed(0)} ms; with a ${slowProviderMs} ms provider ${slow.toFixed(1)} answers/s ` +
      `of the ${ceiling.toFixed(0)}/s the concurrency allows, at most ${slowInFlight} of ${concurrency} calls in flight`,
  };
}
