import { MongoClient, ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { streamingWav, wavTone } from '../support/audio.js';
import { runCleanup } from '../support/cleanup-command.js';
import { eventually, openTestDatabase } from '../support/database.js';
import { useE2eApp } from '../support/e2e.js';
import { expectedTranscript, sha256Of } from '../support/fake-openai.js';
import { PrivateDatabase } from '../support/private-database.js';
import { multipartRequest } from '../support/raw-http.js';

let tone = 5000;
const freshAudio = () => wavTone(0.5, tone++);
// No database of the fixture's: each test brings its own (one it can stop, or one it drops after
// stopping the servers), and starts its servers on it; they are killed after the test.
const {
  fake,
  startApp: startAppWith,
  killApps: stopAll,
  apps: started,
} = useE2eApp('faults', { scope: 'test', database: false });

function startApp(mongodbUri: string, env: Record<string, string> = {}) {
  return startAppWith(env, { database: { uri: mongodbUri } });
}

describe('the database goes away and comes back', () => {
  it('answers 503 with a clear body while it is away, says so in /health/ready, and recovers by itself', async () => {
    const database = await PrivateDatabase.start();
    try {
      const app = await startApp(database.uri, { SESSION_WATCH_MS: '200' });
      const api = new ApiClient(app.url, tokenFor('alice'));
      const sessionId = await api.newSession(['q1', 'q2']);
      expect((await api.upload(sessionId, 'q1', freshAudio())).status).toBe(202);
      await api.waitForAnswer(sessionId, 'q1');

      // an upload streaming when the database goes away
      const slow = multipartRequest(`${app.url}/api/upload-answer/${sessionId}/q2`, tokenFor('alice'), [
        { name: 'audio', filename: 'a.wav', contentType: 'audio/wav', data: streamingWav(64 * 1024 * 1024, 64 * 1024) },
      ]).catch((error: Error) => ({ status: -1, body: error.message }));
      await new Promise((r) => setTimeout(r, 300));
      await database.down();

      const inFlight = await slow;
      expect([503, -1]).toContain(inFlight.status);
      // not ready (an orchestrator stops sending it traffic), but alive (no reason to restart it)
      const ready = await api.request('GET', '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'error', error: { database: { status: 'down' } } });
      expect((await api.request('GET', '/health')).status).toBe(200);
      const create = await api.createSession([{ text: 'q' }]);
      expect(create.status).toBe(503);
      expect(create.body).toEqual({
        type: 'about:blank',
        title: 'Service Unavailable',
        status: 503,
        detail: 'The database is temporarily unavailable; retry in a few seconds.',
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'The database is temporarily unavailable; retry in a few seconds.',
      });
      expect((await api.answerStatus(sessionId, 'q1')).status).toBe(503);

      await database.up();
      await eventually(async () => expect((await api.request('GET', '/health/ready')).status).toBe(200), 30_000);
      // nothing half-written is visible, and the service works again without a restart
      expect((await api.answerStatus(sessionId, 'q2')).status).toBe(404);
      expect((await api.answerStatus(sessionId, 'q1')).body.status).toBe('completed');
      const audio = freshAudio();
      expect((await api.upload(sessionId, 'q2', audio)).status).toBe(202);
      expect(await api.waitForAnswer(sessionId, 'q2')).toMatchObject({
        status: 'completed',
        transcript: expectedTranscript(sha256Of(audio)),
      });
      expect(app.proc.exitCode).toBeNull();
    } catch (error) {
      console.log(
        started
          .map((a) => a.problems().join('\n'))
          .join('\n---\n')
          .slice(0, 4000),
      );
      throw error;
    } finally {
      await database.close();
    }
  });
});

describe('crashes under load', () => {
  it('after a SIGKILL during uploads and transcriptions, every acknowledged answer completes once and cleanup leaves no orphan chunk', async () => {
    const db = await openTestDatabase('sigkill');
    try {
      const env = {
        TRANSCRIPTION_LEASE_MS: '2000',
        HTTP_REQUEST_TIMEOUT_MS: '3000',
        GRIDFS_CHUNK_SIZE_BYTES: '16384',
        TRANSCRIPTION_CONCURRENCY: '2',
      };
      const first = await startApp(db.uri, env);
      const api = new ApiClient(first.url, tokenFor('alice'));
      const ids = Array.from({ length: 6 }, (_, i) => `q${i}`);
      const sessionId = await api.newSession([...ids, 'streaming1', 'streaming2']);
      fake.setDefault({ kind: 'stall' });
      const acknowledged = new Map<string, Buffer>();
      for (const id of ids) {
        const audio = freshAudio();
        if ((await api.upload(sessionId, id, audio)).status === 202) acknowledged.set(id, audio);
      }
      await fake.waitFor(() => fake.inFlight === 2, 10_000, 'two transcriptions running');
      const streaming = ['streaming1', 'streaming2'].map((id) =>
        multipartRequest(`${first.url}/api/upload-answer/${sessionId}/${id}`, tokenFor('alice'), [
          {
            name: 'audio',
            filename: 'a.wav',
            contentType: 'audio/wav',
            data: streamingWav(32 * 1024 * 1024, 16 * 1024),
          },
        ]).catch(() => ({ status: -1 })),
      );
      await eventually(async () =>
        expect(
          await db.db.collection('fs.chunks').countDocuments({ files_id: { $nin: await fileIds() } }),
        ).toBeGreaterThan(10),
      );
      await first.kill();
      expect((await Promise.all(streaming)).every((r) => r.status !== 202)).toBe(true);

      fake.setDefault({ kind: 'ok' });
      const second = await startApp(db.uri, env);
      const api2 = new ApiClient(second.url, tokenFor('alice'));
      for (const [id, audio] of acknowledged) {
        expect(await api2.waitForAnswer(sessionId, id)).toMatchObject({
          status: 'completed',
          transcript: expectedTranscript(sha256Of(audio)),
        });
      }
      const answered = fake.requests.filter((r) => r.answered);
      expect(answered).toHaveLength(acknowledged.size);
      expect(new Set(answered.map((r) => r.sha256)).size).toBe(acknowledged.size);

      await new Promise((r) => setTimeout(r, 8_500)); // older than HTTP_REQUEST_TIMEOUT_MS + 5 s
      expect(
        (await runCleanup(db.uri, { HTTP_REQUEST_TIMEOUT_MS: '3000' })).orphan_chunk_groups,
      ).toBeGreaterThanOrEqual(1);
      expect(await db.db.collection('fs.chunks').countDocuments({ files_id: { $nin: await fileIds() } })).toBe(0);
      await eventually(async () => expect(await db.db.collection('fs.files').countDocuments({})).toBe(0));
    } finally {
      // servers first: FerretDB 1.24 on SQLite can crash (SIGBUS) when a database is dropped under a reader
      await stopAll();
      await db.drop();
    }

    async function fileIds() {
      return (
        await db.db
          .collection('fs.files')
          .find({}, { projection: { _id: 1 } })
          .toArray()
      ).map((f) => f._id);
    }
  });

  // FerretDB scans fs.chunks for every chunk read, so 50 transcriptions take a minute or two on a
  // loaded 2-core machine: what is tested is that none is lost, not how fast they go
  it(
    'loses no acknowledged upload when SIGTERM arrives during 50 concurrent uploads',
    { timeout: 240_000 },
    async () => {
      const db = await openTestDatabase('sigterm');
      try {
        // one user sends all 50 at once, more than MAX_CONCURRENT_UPLOADS_PER_USER allows a real
        // candidate (user-limits.e2e-spec.ts tests that limit)
        const app = await startApp(db.uri, {
          RATE_LIMIT_UPLOADS_PER_MINUTE: '1000',
          MAX_CONCURRENT_UPLOADS_PER_USER: '64',
          SHUTDOWN_GRACE_MS: '5000',
        });
        const api = new ApiClient(app.url, tokenFor('alice'));
        const ids = Array.from({ length: 50 }, (_, i) => `q${i}`);
        const sessionId = await api.newSession(ids);
        const audios = ids.map(() => streamingWav(512 * 1024, 16 * 1024));
        const uploads = ids.map((id, i) =>
          multipartRequest(`${app.url}/api/upload-answer/${sessionId}/${id}`, tokenFor('alice'), [
            { name: 'audio', filename: 'a.wav', contentType: 'audio/wav', data: audios[i] },
          ]).catch((error: Error) => ({ status: -1, body: error.message })),
        );
        await new Promise((r) => setTimeout(r, 150));
        const stopping = app.stop('SIGTERM');
        const results = await Promise.all(uploads);
        await stopping;
        const acknowledged = ids.filter((_, i) => results[i].status === 202);
        expect(acknowledged.length, `statuses: ${results.map((r) => r.status).join(' ')}`).toBeGreaterThan(0);
        const client = await MongoClient.connect(db.uri);
        try {
          const doc = await client
            .db()
            .collection('interview_sessions')
            .findOne({ _id: new ObjectId(sessionId) });
          for (const id of acknowledged) expect(doc!.answers[id], id).toBeDefined();
        } finally {
          await client.close();
        }
        // the next server transcribes all of them
        fake.setDefault({ kind: 'ok' });
        const next = await startApp(db.uri);
        const api2 = new ApiClient(next.url, tokenFor('alice'));
        for (const id of acknowledged) {
          expect((await api2.waitForAnswer(sessionId, id, ['completed', 'failed'], 180_000)).status).toBe('completed');
        }
        console.log(
          `SIGTERM during 50 uploads: ${acknowledged.length} acknowledged, all kept; ${results.filter((r) => r.status !== 202).length} refused or cut`,
        );
      } finally {
        await stopAll();
        await db.drop();
      }
    },
  );
});
