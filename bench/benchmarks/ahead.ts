import { ApiClient, tokenFor } from '../../test/support/api.js';
import { speechLikeWebm } from '../../test/support/audio.js';
import { FakeOpenAI } from '../../test/support/fake-openai.js';
import { multipartRequest } from '../../test/support/raw-http.js';
import { TusClient } from '../../test/support/tus.js';
import { BOUNDARY, reps, sized, type BenchContext } from '../context.js';
import type { BenchTable } from '../report.js';
import { spread } from '../stats.js';
import type { Target } from '../servers.js';

const USER = 'bench-ahead';
/** The fake answering like the real provider: 0.3 s + 50 ms per second of audio. */
const PROVIDER = { kind: 'ok' as const, delayMs: 300, delayPerAudioSecondMs: 50 };
const TARGET_MS = 3_000;

interface Run {
  /** The answer's 202 → its transcribed_at. */
  transcriptMs: number;
  /** The last PATCH (or the whole upload): Stop → 202 on an unthrottled link. */
  uploadMs: number;
  /** Seconds of audio the provider was sent, per second recorded. */
  paidRatio: number;
}

async function transcribedAfter(api: ApiClient, sessionId: string, questionId: string, acceptedAt: number) {
  const answer = (await api.waitForAnswer(sessionId, questionId, ['completed', 'failed'], 120_000)) as {
    status: string;
  };
  if (answer.status !== 'completed') throw new Error(`ahead: ${questionId} ${answer.status}`);
  const view = await api.request<{ answers: Record<string, { transcribed_at: string }> }>(
    'GET',
    `/api/sessions/${sessionId}`,
  );
  return Date.parse(view.body.answers[questionId].transcribed_at) - acceptedAt;
}

const paid = (fake: FakeOpenAI, questionId: string, seconds: number) =>
  fake.requestsFor(questionId).reduce((sum, r) => sum + (r.durationSeconds ?? 0), 0) / seconds;

/** Streamed while recorded: a 1 s PATCH per recorded second, `pace` times faster than real time, the last carrying the length. */
async function streamed(
  service: Target,
  fake: FakeOpenAI,
  sessionId: string,
  q: string,
  recording: Buffer,
  seconds: number,
  pace: number,
): Promise<Run> {
  const api = new ApiClient(service.url, tokenFor(USER));
  const tus = new TusClient(api);
  const id = await tus.startDeferred(sessionId, q);
  const slice = Math.ceil(recording.length / seconds);
  const start = Date.now();
  let offset = 0;
  for (let i = 0; offset + slice < recording.length; i++) {
    const due = start + ((i + 1) * 1000) / pace;
    if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
    const res = await tus.patch(id, offset, recording.subarray(offset, offset + slice));
    if (res.status !== 204) throw new Error(`ahead: PATCH answered ${res.status}`);
    offset += slice;
  }
  const stop = performance.now();
  const last = await tus.patch(id, offset, recording.subarray(offset), recording.length);
  if (last.status !== 202) throw new Error(`ahead: last PATCH answered ${last.status}`);
  const acceptedAt = Date.now();
  const uploadMs = performance.now() - stop;
  return {
    transcriptMs: await transcribedAfter(api, sessionId, q, acceptedAt),
    uploadMs,
    paidRatio: paid(fake, q, seconds),
  };
}

/** The same recording uploaded whole after Stop (multipart), as before: the baseline. */
async function whole(
  service: Target,
  fake: FakeOpenAI,
  sessionId: string,
  q: string,
  recording: Buffer,
  seconds: number,
): Promise<Run> {
  const api = new ApiClient(service.url, tokenFor(USER));
  const stop = performance.now();
  const res = await multipartRequest(
    `${service.url}/api/upload-answer/${sessionId}/${q}`,
    tokenFor(USER),
    [{ name: 'audio', filename: 'answer.webm', contentType: 'audio/webm', data: recording }],
    BOUNDARY,
  );
  if (res.status !== 202) throw new Error(`ahead: multipart answered ${res.status}`);
  const acceptedAt = Date.now();
  const uploadMs = performance.now() - stop;
  return {
    transcriptMs: await transcribedAfter(api, sessionId, q, acceptedAt),
    uploadMs,
    paidRatio: paid(fake, q, seconds),
  };
}

/**
 * A long answer's transcript after its 202: recorded in the browser's format (WebM/Opus, 32 kbit/s)
 * and streamed while it is made, so that its parts are transcribed ahead, against the same
 * recording uploaded whole after Stop; the fake provider answering in 0.3 s + 50 ms per audio second.
 */
export async function aheadLatency(
  ctx: BenchContext,
  start: (openaiUrl: string) => Promise<Target>,
  stop: (target: Target) => Promise<void>,
): Promise<BenchTable> {
  const seconds = sized(ctx, 180, 60, 20);
  const pace = Number(process.env.BENCH_AHEAD_PACE ?? (ctx.smoke ? 10 : 4));
  const repetitions = reps(ctx, 3, 1);
  const recording = await speechLikeWebm(seconds);
  const fake = await FakeOpenAI.start({ probeAudio: true });
  fake.setDefault(PROVIDER);
  const service = await start(fake.url);
  const runs = { streamed: [] as Run[], whole: [] as Run[] };
  try {
    const api = new ApiClient(service.url, tokenFor(USER));
    for (let rep = 0; rep < repetitions; rep++) {
      const sessionId = await api.newSession(['streamed', 'whole']);
      fake.reset();
      fake.setDefault(PROVIDER);
      const s = await streamed(service, fake, sessionId, 'streamed', recording, seconds, pace);
      const w = await whole(service, fake, sessionId, 'whole', recording, seconds);
      runs.streamed.push(s);
      runs.whole.push(w);
      ctx.log(
        `  ${seconds} s answer: streamed ${s.transcriptMs} ms after its 202 (paid ×${s.paidRatio.toFixed(2)}), whole ${w.transcriptMs} ms`,
      );
    }
  } finally {
    await stop(service);
    await fake.close();
  }
  const row = (name: string, r: Run[]) => ({
    name,
    cells: [r.map((x) => x.transcriptMs / 1000), r.map((x) => x.uploadMs / 1000), r.map((x) => x.paidRatio)],
  });
  const median = spread(runs.streamed.map((r) => r.transcriptMs)).median;
  const baseline = spread(runs.whole.map((r) => r.transcriptMs)).median;
  const paidOnce = runs.streamed.every((r) => Math.abs(r.paidRatio - 1) < 0.02);
  return {
    title: `A ${seconds}-second answer: its transcript after its 202, streamed while recorded against uploaded whole`,
    method:
      `A ${seconds}-second WebM/Opus recording at 32 kbit/s (sung vowels with pauses of 0.7–2.2 s, as the browser's ` +
      `MediaRecorder would make it). Streamed: a tus upload of deferred length, one PATCH per recorded second sent ` +
      `${pace}× faster than real time, the last with Upload-Length (TRANSCRIPTION_AHEAD_SECONDS at its default). Whole: ` +
      `the same bytes as one multipart upload after Stop (the path before). The fake provider answers in 0.3 s + 50 ms ` +
      `per second of audio it is sent (ffprobe's duration). Time = the 202 at the client → the answer's transcribed_at; ` +
      `"sent ÷ recorded" = the seconds of audio the provider was sent ÷ the recording's. ${repetitions} answer(s) of each, ` +
      `interleaved, one service process.`,
    columns: [
      { label: '202 → transcript (s)', digits: 2 },
      { label: 'last upload request: Stop → 202 (s)', digits: 2 },
      { label: 'audio sent ÷ recorded', digits: 2 },
    ],
    rows: [
      row('streamed while recorded, transcribed ahead', runs.streamed),
      row('uploaded whole after Stop (baseline)', runs.whole),
    ],
    target: `the streamed answer's transcript ≤ ${TARGET_MS / 1000} s after its 202, each second of audio paid for once`,
    verdict: median <= TARGET_MS && paidOnce ? 'met' : 'missed',
    verdictDetail: `${(median / 1000).toFixed(2)} s against ${(baseline / 1000).toFixed(2)} s uploaded whole`,
  };
}
