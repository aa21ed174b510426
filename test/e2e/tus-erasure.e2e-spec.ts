import { ObjectId } from 'mongodb';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { AppProcess } from '../support/app-process.js';
import { wavTone } from '../support/audio.js';
import { runCleanup } from '../support/cleanup-command.js';
import { eventually, openTestDatabase, type TestDatabase } from '../support/database.js';
import { FakeOpenAI } from '../support/fake-openai.js';
import { patchStream, TusClient } from '../support/tus.js';

const CHUNK = 16_384;
/** Full chunks reach the database a batch of about 1 MB at a time (GridFsTusStore). */
const BATCH_CHUNKS = (1024 * 1024) / CHUNK;

let db: TestDatabase;
let fake: FakeOpenAI;
let app: AppProcess;
let alice: ApiClient;
let tus: TusClient;

beforeAll(async () => {
  db = await openTestDatabase('tuserasure');
  fake = await FakeOpenAI.start();
  app = await AppProcess.start({
    mongodbUri: db.uri,
    openaiUrl: fake.url,
    env: { GRIDFS_CHUNK_SIZE_BYTES: String(CHUNK) },
  });
  alice = new ApiClient(app.url, tokenFor('alice'));
  tus = new TusClient(alice);
});
afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await db?.drop();
});

const chunksOf = (id: string) => db.db.collection('fs.chunks').countDocuments({ files_id: new ObjectId(id) });
const uploadsOf = (sessionId: string) =>
  db.db.collection('resumable_uploads').countDocuments({ session_id: new ObjectId(sessionId) });
const filesOf = (sessionId: string) =>
  db.db.collection('fs.files').countDocuments({ 'metadata.session_id': new ObjectId(sessionId) });

describe('erasing a session with unfinished tus uploads', () => {
  it('removes their documents and chunks, and the uploads answer 404 from then on', async () => {
    const sessionId = await alice.newSession(['q1', 'q2']);
    const other = await alice.newSession(['q1']);
    const audio = wavTone(5, 410);
    const started = await tus.start(sessionId, 'q1', audio.length);
    expect((await tus.patch(started, 0, audio.subarray(0, 100_000))).status).toBe(204);
    const empty = await tus.start(sessionId, 'q2', audio.length);
    const kept = await tus.start(other, 'q1', audio.length);
    expect((await tus.patch(kept, 0, audio.subarray(0, 100_000))).status).toBe(204);
    expect(await chunksOf(started)).toBe(Math.floor(100_000 / CHUNK));

    expect((await alice.request('DELETE', `/api/sessions/${sessionId}`)).status).toBe(204);

    expect(await uploadsOf(sessionId)).toBe(0);
    expect(await chunksOf(started)).toBe(0);
    expect(await filesOf(sessionId)).toBe(0);
    for (const id of [started, empty]) {
      const head = await tus.head(id);
      expect(head.status).toBe(404);
      expect(head.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    const patch = await tus.patch(started, 100_000, audio.subarray(100_000));
    expect(patch.status).toBe(404);
    expect(patch.body.detail).toBe('No unfinished upload with this id exists for your account; create a new one.');
    expect((await tus.terminate(started)).status).toBe(404);
    expect(await chunksOf(started)).toBe(0);

    // another session's upload is untouched, and nothing is left for the cleanup to find
    expect(await tus.offset(kept)).toBe(100_000);
    expect(await chunksOf(kept)).toBe(Math.floor(100_000 / CHUNK));
    expect(await runCleanup(db.uri, { HTTP_REQUEST_TIMEOUT_MS: '1000' })).toMatchObject({
      orphan_chunk_groups: 0,
      chunks_deleted: 0,
    });
  });

  it('while PATCHes stream into them: they answer 404, never 5xx, and leave no chunk, file or document', async () => {
    const sessionId = await alice.newSession(['partial', 'last']);
    const audio = wavTone(100, 520); // 3.2 MB
    const partial = await tus.start(sessionId, 'partial', audio.length);
    const last = await tus.start(sessionId, 'last', audio.length);
    // one PATCH sends part of the recording, the other all of it (its completion races the erasure)
    const bodies = [new Readable({ read() {} }), new Readable({ read() {} })];
    const sent = [
      patchStream(app.url, tokenFor('alice'), partial, 0, 2 * 1024 * 1024, bodies[0]),
      patchStream(app.url, tokenFor('alice'), last, 0, audio.length, bodies[1]),
    ];
    for (const body of bodies) body.push(audio.subarray(0, 1536 * 1024));
    await eventually(async () => {
      expect(await chunksOf(partial)).toBeGreaterThanOrEqual(BATCH_CHUNKS);
      expect(await chunksOf(last)).toBeGreaterThanOrEqual(BATCH_CHUNKS);
    }, 20_000);

    expect((await alice.request('DELETE', `/api/sessions/${sessionId}`)).status).toBe(204);
    bodies[0].push(audio.subarray(1536 * 1024, 2 * 1024 * 1024));
    bodies[1].push(audio.subarray(1536 * 1024));
    for (const body of bodies) body.push(null);

    for (const answer of await Promise.all(sent)) {
      expect(answer.status).toBe(404);
      expect(JSON.parse(answer.text)).toMatchObject({ status: 404 });
    }
    expect(await uploadsOf(sessionId)).toBe(0);
    expect(await filesOf(sessionId)).toBe(0);
    for (const id of [partial, last]) {
      expect(await chunksOf(id)).toBe(0);
      expect(await db.db.collection('fs.files').countDocuments({ _id: new ObjectId(id) })).toBe(0);
      expect((await tus.head(id)).status).toBe(404);
    }
    expect(await db.db.collection('interview_sessions').countDocuments({ _id: new ObjectId(sessionId) })).toBe(0);
    // nothing was logged as an error (a 5xx is)
    expect(app.problems().filter((line) => !line.startsWith('{') || /"level":"(error|fatal)"/.test(line))).toEqual([]);
  });
});
