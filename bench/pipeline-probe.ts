/**
 * Where one answer's time goes between its 202 and its `transcribed_at` (bench/NOTES.md, "Pipeline"):
 * `node dist-bench/bench/pipeline-probe.js` after `nest build` and `tsc -p tsconfig.bench.json`,
 * against MONGODB_URI (its database is dropped afterwards). The service runs behind the test's wire
 * proxy, which notes when each database command went out and when its answer came back; the fake
 * provider notes when the audio reached it. PROBE_ANSWERS (default 15) answers are uploaded one
 * after another (16 KB WAV, as the bench's pipeline group); the timeline of the median one is
 * printed, each command at its offset from the 202, and the median of each gap.
 */
import { MongoClient, ObjectId } from 'mongodb';
import { ApiClient, tokenFor } from '../test/support/api.js';
import { wavTone } from '../test/support/audio.js';
import { DatabaseProxy, type WireCommand } from '../test/support/database-proxy.js';
import { FakeOpenAI } from '../test/support/fake-openai.js';
import { startService } from './servers.js';
import { percentile } from './stats.js';

const answers = Number(process.env.PROBE_ANSWERS ?? 15);
const USER = 'probe-pipeline';

interface Timeline {
  total: number;
  steps: { at: number; took: number | null; what: string }[];
}

async function main(): Promise<void> {
  const base = process.env.MONGODB_URI;
  if (!base) throw new Error('MONGODB_URI names the database server to probe against');
  const uri = new URL(base);
  uri.pathname = `/pipeline_probe_${process.pid}`;
  const direct = await MongoClient.connect(uri.toString());
  const proxy = await DatabaseProxy.start(uri.toString());
  const fake = await FakeOpenAI.start();
  const service = await startService(proxy.uri, { TRANSCRIPTION_CONCURRENCY: '4' }, fake.url);
  const timelines: Timeline[] = [];
  try {
    const api = new ApiClient(service.url, tokenFor(USER));
    const audio = wavTone(0.5, 440);
    for (let i = 0; i <= answers; i++) {
      const sessionId = await api.newSession(['a']);
      await new Promise((r) => setTimeout(r, 200)); // the session's own writes and nudges are over
      proxy.clear();
      fake.reset();
      const sent = performance.now();
      const res = await api.upload(sessionId, 'a', audio, { filename: 'a.wav', contentType: 'audio/wav' });
      const accepted = performance.now();
      const acceptedWall = Date.now();
      if (res.status !== 202) throw new Error(`upload answered ${res.status}`);
      let transcribedAt: number | null = null;
      while (transcribedAt === null) {
        const doc = await direct
          .db()
          .collection<{ answers: { a?: { transcribed_at?: Date } } }>('interview_sessions')
          .findOne({ _id: new ObjectId(sessionId) }, { projection: { 'answers.a.transcribed_at': 1 } });
        transcribedAt = doc?.answers.a?.transcribed_at?.getTime() ?? null;
        if (transcribedAt === null) await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, 100)); // the completion write's answer is in
      if (i === 0) continue; // warm-up
      const offset = (at: number) => Math.round((at - accepted) * 10) / 10;
      const steps = proxy.commands
        .filter((c: WireCommand) => c.sentAt >= sent)
        .map((c) => ({
          at: offset(c.sentAt),
          took: c.answeredAt === null ? null : Math.round((c.answeredAt - c.sentAt) * 10) / 10,
          what: `${c.name} ${String(c.collection)}`,
        }));
      const provider = fake.requestsFor('a')[0];
      if (provider)
        steps.push({
          at: offset(provider.receivedAt - acceptedWall + accepted),
          took: null,
          what: 'provider received the audio',
        });
      steps.push({ at: transcribedAt - acceptedWall, took: null, what: 'transcribed_at' });
      steps.sort((a, b) => a.at - b.at);
      timelines.push({ total: transcribedAt - acceptedWall, steps });
    }
  } finally {
    await service.stop();
    await fake.close();
    await proxy.close();
    await direct.db().dropDatabase();
    await direct.close();
  }
  const totals = timelines.map((t) => t.total).sort((a, b) => a - b);
  console.log(
    `202 → transcribed_at over ${answers} answers: p50 ${percentile(totals, 50)} ms, min ${totals[0]}, max ${totals.at(-1)}`,
  );
  const median = timelines.find((t) => t.total === percentile(totals, 50)) ?? timelines[0];
  console.log(`the median answer's timeline (ms from its 202 at the client; the command's round trip):`);
  for (const step of median.steps) {
    console.log(
      `  ${step.at.toFixed(1).padStart(7)}  ${step.took === null ? '      ' : step.took.toFixed(1).padStart(6)}  ${step.what}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
