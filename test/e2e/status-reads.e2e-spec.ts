import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { AppProcess } from '../support/app-process.js';
import { wavTone } from '../support/audio.js';
import { DatabaseProxy, type WireCommand } from '../support/database-proxy.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { expectedTranscript, FakeOpenAI, sha256Of } from '../support/fake-openai.js';
import { EventStreamClient } from '../support/sse.js';

/*
 * A status GET and an event stream's snapshot read the session once, whatever the backend: counted
 * on the wire between the built server and the real database.
 */

let db: TestDatabase;
let proxy: DatabaseProxy;
let fake: FakeOpenAI;
let app: AppProcess;
let api: ApiClient;
let sessionId: string;
const audio = wavTone(0.3, 640);

/**
 * The reads of this session's document that `run` caused: finds and aggregates on interview_sessions
 * naming it (the worker's own scans of due work, and its writes, left out).
 */
async function sessionReads(run: () => Promise<unknown>): Promise<WireCommand[]> {
  proxy.clear();
  await run();
  return proxy.commands.filter(
    (c) =>
      String(c.collection) === 'interview_sessions' &&
      ['find', 'aggregate'].includes(c.name) &&
      JSON.stringify(c.body).includes(sessionId),
  );
}

beforeAll(async () => {
  db = await openTestDatabase('statusreads');
  proxy = await DatabaseProxy.start(db.uri);
  fake = await FakeOpenAI.start();
  // eager scoring reads the session in the background once an answer is transcribed: off, so that
  // every read counted here is the request's own
  app = await AppProcess.start({ mongodbUri: proxy.uri, openaiUrl: fake.url, env: { SCORING_EAGER: 'false' } });
  api = new ApiClient(app.url, tokenFor('alice'));
  sessionId = await api.newSession(['q1', 'q2', 'q3']);
  expect((await api.upload(sessionId, 'q2', audio)).status).toBe(202);
  expect((await api.waitForAnswer(sessionId, 'q2')).status).toBe('completed');
});

afterAll(async () => {
  await app?.stop('SIGKILL');
  await proxy?.close();
  await fake?.close();
  await db?.drop();
});

describe('status reads', () => {
  it('GET transcription-status reads the session once, leaving out question texts and analysis details', async () => {
    let body: unknown;
    const reads = await sessionReads(async () => {
      const res = await api.sessionStatus(sessionId);
      expect(res.status).toBe(200);
      body = res.body;
    });
    expect(reads.map((c) => c.name)).toEqual(['find']);
    expect(reads[0].body.projection).toEqual({
      'questions.text': 0,
      'questions.model_answer': 0,
      'questions.rubric': 0,
      'questions.vocabulary': 0,
      rubric: 0,
      'analysis.answers': 0,
      pending_webhooks: 0,
    });
    expect(body).toMatchObject({
      session_id: sessionId,
      summary: { total: 3, completed: 1, processing: 0, queued: 0, failed: 0, not_uploaded: 2 },
      answers: [
        { question_id: 'q2', status: 'completed', transcript: expectedTranscript(sha256Of(audio)), attempts: 1 },
      ],
    });
    expect((body as { answers: object[] }).answers[0]).not.toHaveProperty('segments');
  });

  it("an event stream's snapshot reads the session once", async () => {
    let stream: EventStreamClient | undefined;
    const reads = await sessionReads(async () => {
      stream = await EventStreamClient.open(`${app.url}/api/sessions/${sessionId}/events`, tokenFor('alice'));
      await stream.waitFor((e) => e.some((x) => x.event === 'snapshot'));
    });
    try {
      expect(reads.map((c) => c.name)).toEqual(['find']);
      expect(stream!.named('snapshot')[0]).toMatchObject({
        session_id: sessionId,
        status: 'in_progress',
        summary: { total: 3, completed: 1, processing: 0, queued: 0, failed: 0, not_uploaded: 2 },
        answers: [{ question_id: 'q2', status: 'completed', transcript: expectedTranscript(sha256Of(audio)) }],
      });
    } finally {
      await stream?.close();
    }
  });

  it("another user's session is still a 404 after its one read", async () => {
    const bob = new ApiClient(app.url, tokenFor('bob'));
    const reads = await sessionReads(async () => expect((await bob.sessionStatus(sessionId)).status).toBe(404));
    expect(reads.map((c) => c.name)).toEqual(['find']);
  });
});
