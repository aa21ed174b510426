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
 * Deletes a measurement's sessions, so that every row runs on a collection of the same size: on
 * FerretDB a session read or write costs more with every session in the collection (bench/NOTES.md,
 * "Every find by `_id`"), which the scale table measures, not this one.
 */
async function forget(db: Db, ids: ObjectId[]): Promise<void> {
  await db.collection('interview_sessions').deleteMany({ _id: { $in: ids } });
}

/**
 * Uploads `count` answers at once (one session each, as many candidates would) and waits until all
 * are transcribed. Latency of an answer = its transcribed_at (written by the server) − the moment its
 * 202 reached the client; both clocks are this machine's.
 */
async function burst(
  service: Target,
  db: Db,
  fake: FakeOpenAI,
  count: number,
  provider: { delayMs: number; concurrency: number } = { delayMs: 0, concurrency: 1 },
): Promise<Burst> {
  const api = new ApiClient(service.url, tokenFor(USER));
  const sessions: string[] = [];
  for (let i = 0; i < count; i++) sessions.push(await api.newSession(['a']));
  const audio = wavTone(0.5, 300 + (count % 7) * 50);
  fake.reset(); // forgets the default behaviour too: the provider's delay is set after it
  fake.setDefault({ kind: 'ok', delayMs: provider.delayMs || undefined });
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
      await forget(db, ids);
      const latencies = sessions.map((id, i) => byId.get(id)! - acceptedAt[i]);
      const last = Math.max(...byId.values());
      // a provider that takes delayMs per call cannot be beaten: if it was, the delay was not applied
      const floorMs = provider.delayMs * Math.ceil(count / provider.concurrency);
      if (last - started < floorMs)
        throw new Error(`pipeline: ${count} answers done in ${last - started} ms, under the provider's ${floorMs} ms`);
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

/**
 * Keeps `inFlight` answers in the pipeline (one session each): each time one is seen completed,
 * another is uploaded, `total` in all. The rate is the steady state's: completions between the
 * `inFlight`-th and the (total − inFlight)-th, over the time between them (the ramp-up and the
 * drain left out). Latency = transcribed_at − the 202, as in a burst.
 */
async function steady(
  service: Target,
  db: Db,
  fake: FakeOpenAI,
  inFlight: number,
  total: number,
  provider: { delayMs: number; concurrency: number },
): Promise<Burst> {
  const api = new ApiClient(service.url, tokenFor(USER));
  const sessions: string[] = [];
  for (let i = 0; i < total; i++) sessions.push(await api.newSession(['a']));
  const audio = wavTone(0.5, 420);
  fake.reset();
  fake.setDefault({ kind: 'ok', delayMs: provider.delayMs || undefined });
  const sentAt = new Map<string, number>();
  const acceptedAt = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const transcribedAt = new Map<string, number>();
  let next = 0;
  let failure: Error | undefined;
  const poller = (async () => {
    const deadline = Date.now() + 180_000;
    while (transcribedAt.size < total && !failure) {
      const ids = [...waiting.keys()].map((id) => new ObjectId(id));
      if (ids.length > 0) {
        const docs = await db
          .collection<{ answers?: { a?: TranscribedAnswer } }>('interview_sessions')
          .find({ _id: { $in: ids } }, { projection: { 'answers.a': 1 } })
          .toArray();
        for (const d of docs) {
          const a = d.answers?.a;
          if (a?.transcription_status === 'failed')
            failure = new Error(`a transcription failed: ${a.transcription_error}`);
          if (a?.transcription_status !== 'completed') continue;
          transcribedAt.set(String(d._id), a.transcribed_at!.getTime());
          const resume = waiting.get(String(d._id));
          waiting.delete(String(d._id));
          resume?.();
        }
      }
      if (Date.now() > deadline) failure = new Error(`pipeline: ${transcribedAt.size} of ${total} done after 180 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const resume of waiting.values()) resume();
  })();
  const lane = async () => {
    while (next < total && !failure) {
      const sessionId = sessions[next++];
      const done = new Promise<void>((resolve) => waiting.set(sessionId, resolve));
      sentAt.set(sessionId, Date.now());
      const res = await api.upload(sessionId, 'a', audio, { filename: 'a.wav', contentType: 'audio/wav' });
      if (res.status !== 202) throw new Error(`pipeline upload answered ${res.status}`);
      acceptedAt.set(sessionId, Date.now());
      await done;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  await poller;
  if (failure) throw failure;
  await forget(
    db,
    sessions.map((id) => new ObjectId(id)),
  );
  const ends = [...transcribedAt.values()].sort((a, b) => a - b);
  const [from, to] = [ends[inFlight - 1], ends[total - inFlight - 1]];
  const latencies = sessions.map((id) => transcribedAt.get(id)! - acceptedAt.get(id)!);
  // every answer took the provider's delay at least from its upload's first byte; one that did not was not given it
  const fastest = Math.min(...sessions.map((id) => transcribedAt.get(id)! - sentAt.get(id)!));
  if (fastest < provider.delayMs)
    throw new Error(
      `pipeline: an answer was done ${fastest} ms after its upload began, under the provider's ${provider.delayMs} ms`,
    );
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    perSecond: (total - 2 * inFlight) / ((to - from) / 1000),
    providerInFlight: fake.maxInFlight,
  };
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
  const steadyTotal = sized(ctx, 5 * sixteen, 3 * sixteen, 3 * sixteen);
  const levels: { name: string; count: number; repetitions: number; delayMs: number; total?: number }[] = [
    { name: '1 in flight', count: 1, repetitions: reps(ctx, 15, 5), delayMs: 0 },
    { name: `${sixteen} in flight`, count: sixteen, repetitions: reps(ctx, 3, 1), delayMs: 0 },
    { name: `${sixtyFour} in flight`, count: sixtyFour, repetitions: reps(ctx, 2, 1), delayMs: 0 },
    {
      name: `${sixteen} in flight, provider ${slowProviderMs} ms`,
      count: sixteen,
      repetitions: reps(ctx, 2, 1),
      delayMs: slowProviderMs,
    },
    {
      name: `${sixteen} kept in flight, provider ${slowProviderMs} ms`,
      count: sixteen,
      repetitions: reps(ctx, 2, 1),
      delayMs: slowProviderMs,
      total: steadyTotal,
    },
  ];
  if (!ctx.smoke) await burst(service, db, fake, 1); // warm-up
  const rows = [];
  const results = new Map<string, Burst[]>();
  for (const level of levels) {
    const bursts: Burst[] = [];
    const provider = { delayMs: level.delayMs, concurrency };
    for (let rep = 0; rep < level.repetitions; rep++)
      bursts.push(
        level.total
          ? await steady(service, db, fake, level.count, level.total, provider)
          : await burst(service, db, fake, level.count, provider),
      );
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
  const steadyRuns = results.get(levels[4].name)!;
  const slow = spread(steadyRuns.map((b) => b.perSecond)).median;
  const slowInFlight = Math.max(...steadyRuns.map((b) => b.providerInFlight));
  const ceiling = concurrency / (slowProviderMs / 1000);
  const wanted = 0.9 * ceiling;
  return {
    title: 'Pipeline latency: 202 → completed, provider answering at once',
    method:
      `N answers uploaded at once (one session each, 16 KB WAV), the fake provider answering instantly ` +
      `(over real HTTP, through the openai SDK); TRANSCRIPTION_CONCURRENCY=${concurrency}. Latency = the answer's ` +
      'transcribed_at − its 202 at the client (so the completion write itself is not included). answers/s = N ÷ (last ' +
      `completion − first upload sent). The last two rows give the provider ${slowProviderMs} ms per call, so the ` +
      `concurrency limit alone would allow ${ceiling.toFixed(0)} answers/s once the provider is kept busy; a burst ` +
      `of ${sixteen} also pays its first upload and claim and its last answer's writes, outside that limit. The last ` +
      `row keeps ${sixteen} answers in flight (another uploaded as each is seen completed, ${steadyTotal} in ` +
      `all) and counts the completions between the ${sixteen}th and the ${steadyTotal - sixteen}th over the time ` +
      `between them: the steady state, without the ramp-up and the drain. 1 in flight: ${levels[0].repetitions} ` +
      'uploads one after another; the others: repetitions of the burst or of the steady run.',
    columns: [
      { label: 'p50 (ms)', digits: 0 },
      { label: 'p99 (ms)', digits: 0 },
      { label: 'answers/s' },
      { label: 'provider calls in flight (max)', digits: 0 },
    ],
    rows,
    target:
      `p50 ≤ 40 ms at 1 in flight; with a ${slowProviderMs} ms provider and ${sixteen} kept in flight ≥ ${wanted.toFixed(0)} ` +
      `answers/s (90 % of what TRANSCRIPTION_CONCURRENCY allows) and ${concurrency} provider calls in flight`,
    verdict: single <= 40 && slow >= wanted && slowInFlight === concurrency ? 'met' : 'missed',
    verdictDetail:
      `p50 at 1 in flight ${single.toFixed(0)} ms; with a ${slowProviderMs} ms provider and ${sixteen} kept in flight ${slow.toFixed(1)} answers/s ` +
      `of the ${ceiling.toFixed(0)}/s the concurrency allows, at most ${slowInFlight} of ${concurrency} calls in flight`,
  };
}
