import { afterAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { AppProcess } from '../support/app-process.js';
import { wavTone } from '../support/audio.js';
import { openTestDatabase } from '../support/database.js';
import { useE2eApp } from '../support/e2e.js';
import { expectedTranscript, sha256Of } from '../support/fake-openai.js';
import { EventStreamClient } from '../support/sse.js';

const { fake, app, clientFor, startApp } = useE2eApp('events', {
  // the main server's own: the servers started in tests run with the defaults
  server: {
    // whisper-1 answers verbose_json (language, duration), which the events carry
    env: { SSE_HEARTBEAT_MS: '200', SESSION_WATCH_MS: '100', TRANSCRIPTION_MODEL: 'whisper-1' },
  },
});
const alice = clientFor('alice');
let tone = 3000;
const freshAudio = () => wavTone(0.5, tone++);
const streams: EventStreamClient[] = [];
// registered after the fixture's, so this runs before its servers stop
afterAll(async () => {
  await Promise.all(streams.map((s) => s.close()));
});

async function listen(server: AppProcess, sessionId: string, user = 'alice') {
  const stream = await EventStreamClient.open(`${server.url}/api/sessions/${sessionId}/events`, tokenFor(user));
  streams.push(stream);
  return stream;
}

describe('GET /api/sessions/:sessionId/events', () => {
  it('is for the owner only', async () => {
    const sessionId = await alice.newSession(['q1']);
    const anonymous = await EventStreamClient.open(`${app.url}/api/sessions/${sessionId}/events`);
    expect(anonymous.status).toBe(401);
    const foreign = await listen(app, sessionId, 'bob');
    expect(foreign.status).toBe(404);
  });

  it('streams each status change, the transcript, readiness and heartbeats', async () => {
    const sessionId = await alice.newSession(['q1', 'q2']);
    const stream = await listen(app, sessionId);
    expect(stream.status).toBe(200);
    expect(stream.contentType).toMatch(/^text\/event-stream/);
    await stream.waitFor((e) => e.some((x) => x.event === 'snapshot'));
    expect(stream.named('snapshot')[0]).toEqual({
      session_id: sessionId,
      status: 'in_progress',
      summary: { total: 2, completed: 0, processing: 0, queued: 0, failed: 0, not_uploaded: 2 },
      answers: [],
    });

    let release!: () => void;
    fake.script('q1', { kind: 'hold', until: new Promise<void>((r) => (release = r)) });
    const audio = freshAudio();
    await alice.upload(sessionId, 'q1', audio);
    await stream.waitFor(
      (e) => e.some((x) => x.event === 'answer' && x.data.status === 'processing'),
      10_000,
      'processing',
    );
    release();
    await stream.waitFor((e) => e.some((x) => x.event === 'ready'), 10_000, 'ready');
    const q1 = stream.named('answer').filter((a) => a.question_id === 'q1');
    expect(q1.map((a) => a.status)).toEqual(expect.arrayContaining(['processing', 'completed']));
    expect(q1.at(-1)).toEqual({
      question_id: 'q1',
      status: 'completed',
      transcript: expectedTranscript(sha256Of(audio)),
      transcribed_at: expect.any(String),
      // whisper-1 answers verbose_json; the fake's duration of 6444 bytes of PCM
      language: 'english',
      duration_seconds: 0.5,
      attempts: 1,
    });
    expect(stream.named('ready')[0]).toEqual({
      session_id: sessionId,
      summary: { total: 2, completed: 1, processing: 0, queued: 0, failed: 0, not_uploaded: 1 },
    });

    fake.script('q2', { kind: 'status', status: 400, message: 'unsupported' });
    await alice.upload(sessionId, 'q2', freshAudio());
    await stream.waitFor((e) => e.filter((x) => x.event === 'ready').length === 2, 10_000, 'second ready');
    const q2 = stream.named('answer').filter((a) => a.question_id === 'q2');
    expect(q2.at(-1)).toMatchObject({
      status: 'failed',
      error:
        'The transcription provider rejected the audio (400); check that the recording plays, then upload it again.',
    });
    // heartbeats every SSE_HEARTBEAT_MS (200 ms here) keep proxies from closing an idle stream
    await stream.waitFor(() => stream.comments.filter((c) => c === 'ping').length >= 2, 3_000, 'two heartbeats');
  });

  it('reports changes made on another server instance', async () => {
    // a database of its own, so that only `worker` can transcribe: the stream is served by an api
    // instance, which never does, and this file's main server never sees the session
    const own = await openTestDatabase('events_cross');
    const watcher = await AppProcess.start({ mongodbUri: own.uri, openaiUrl: fake.url, env: { ROLE: 'api' } });
    const worker = await AppProcess.start({ mongodbUri: own.uri, openaiUrl: fake.url });
    try {
      const api = new ApiClient(watcher.url, tokenFor('alice'));
      const sessionId = await api.newSession(['q1']);
      const stream = await listen(watcher, sessionId);
      await stream.waitFor((e) => e.some((x) => x.event === 'snapshot'));
      let release!: () => void;
      fake.script('q1', { kind: 'hold', until: new Promise<void>((r) => (release = r)) });
      await new ApiClient(worker.url, tokenFor('alice')).upload(sessionId, 'q1', freshAudio());
      await fake.waitFor(() => fake.requestsFor('q1').length === 1);
      release();
      await stream.waitFor(
        (e) => e.some((x) => x.event === 'answer' && x.data.status === 'completed'),
        10_000,
        'completed',
      );
      await stream.waitFor((e) => e.some((x) => x.event === 'ready'), 10_000, 'ready');
      expect(worker.logs.some((l) => l.includes(`transcribed session=${sessionId}`))).toBe(true);
      expect(watcher.logs.some((l) => l.includes(`transcribed session=${sessionId}`))).toBe(false);

      const analyzed = await new ApiClient(worker.url, tokenFor('alice')).request('POST', `/api/analyze/${sessionId}`);
      expect(analyzed.status).toBe(200);
      await stream.waitFor((e) => e.some((x) => x.event === 'analyzed'), 10_000, 'analyzed');
      expect(stream.named('analyzed')[0]).toEqual({ session_id: sessionId, final_score: analyzed.body.final_score });
    } finally {
      await worker.stop();
      await watcher.stop();
      await own.drop();
    }
  });

  it('ends open streams on SIGTERM so that the server can shut down', async () => {
    const own = await startApp();
    const sessionId = await new ApiClient(own.url, tokenFor('alice')).newSession(['q1']);
    const stream = await listen(own, sessionId);
    await stream.waitFor((e) => e.some((x) => x.event === 'snapshot'));
    const started = Date.now();
    await own.stop('SIGTERM', 15_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(stream.named('shutdown')).toHaveLength(1);
  });
});
