import { BSON, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { AppProcess } from '../support/app-process.js';
import { encodedTone, id3TagHeader } from '../support/audio.js';
import { DatabaseProxy, type WireCommand } from '../support/database-proxy.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { FakeOpenAI, sha256Of } from '../support/fake-openai.js';
import { TusClient } from '../support/tus.js';

/*
 * What an unfinished upload costs the database between its requests: its document holds what
 * resuming needs (never the file's bytes beyond a chunk), and HEAD reads only what it answers with,
 * once. Measured on the wire between the built server and the real database; the figures are printed.
 */

/** GRIDFS_CHUNK_SIZE_BYTES' default: the tail kept in the document is shorter than this. */
const CHUNK = 255 * 1024;
const UPLOAD_COLLECTIONS = new Set(['resumable_uploads', 'document_locks', 'fs.files', 'fs.chunks']);

let db: TestDatabase;
let proxy: DatabaseProxy;
let fake: FakeOpenAI;
let app: AppProcess;
let tus: TusClient;

beforeAll(async () => {
  db = await openTestDatabase('tusrow');
  proxy = await DatabaseProxy.start(db.uri);
  fake = await FakeOpenAI.start();
  app = await AppProcess.start({
    mongodbUri: proxy.uri,
    openaiUrl: fake.url,
    env: { MAX_UPLOAD_BYTES: String(16 * 1024 * 1024), RATE_LIMIT_UPLOAD_CHECKS_PER_MINUTE: '1000' },
  });
  tus = new TusClient(new ApiClient(app.url, tokenFor('alice')));
});

afterAll(async () => {
  await app?.stop('SIGKILL');
  await proxy?.close();
  await fake?.close();
  await db?.drop();
});

/** The upload's commands among those `run` caused (the workers' polling left out), and their bytes. */
async function cost(run: () => Promise<unknown>) {
  proxy.clear();
  await run();
  const ours = proxy.commands.filter((c: WireCommand) => UPLOAD_COLLECTIONS.has(String(c.collection)));
  return {
    roundTrips: ours.length,
    commands: ours.map((c) => `${c.name} ${String(c.collection)}`),
    bytesSent: ours.reduce((sum, c) => sum + c.requestBytes, 0),
    bytesRead: ours.reduce((sum, c) => sum + c.replyBytes, 0),
  };
}

const rowBytes = async (id: string) =>
  BSON.calculateObjectSize((await db.db.collection('resumable_uploads').findOne({ _id: new ObjectId(id) }))!);

describe('an upload whose format is not known yet (an mp3 behind 3 MB of cover art)', () => {
  it('keeps the held head as GridFS chunks, a tail under a chunk in its document, and HEAD one small read', async () => {
    const api = new ApiClient(app.url, tokenFor('alice'));
    const sessionId = await api.newSession(['q1']);
    const picture = 3 * 1024 * 1024;
    const tagged = Buffer.concat([id3TagHeader(picture), Buffer.alloc(picture, 0x41), encodedTone('mp3')]);
    const id = await tus.start(sessionId, 'q1', tagged.length);

    // the first PATCH ends inside the tag: the head is held, not judged
    const first = await cost(async () =>
      expect((await tus.patch(id, 0, tagged.subarray(0, 2_500_000))).status).toBe(204),
    );
    const row = await rowBytes(id);
    const head = await cost(async () => expect(await tus.offset(id)).toBe(2_500_000));
    const small = await cost(async () =>
      expect((await tus.patch(id, 2_500_000, tagged.subarray(2_500_000, 2_501_024))).status).toBe(204),
    );
    const rowAfterSmall = await rowBytes(id);
    console.log(
      `tus row while the format is unknown (2.5 MB held): ${row} bytes; after a 1 KB PATCH ${rowAfterSmall} bytes\n` +
        `  HEAD: ${head.roundTrips} round trip(s) [${head.commands.join(', ')}], ${head.bytesRead} bytes read\n` +
        `  1 KB PATCH: ${small.roundTrips} round trips, ${small.bytesRead} bytes read, ${small.bytesSent} bytes sent\n` +
        `  2.5 MB PATCH: ${first.roundTrips} round trips, ${first.bytesRead} bytes read, ${first.bytesSent} bytes sent`,
    );
    expect(row).toBeLessThan(CHUNK + 2048);
    expect(rowAfterSmall).toBeLessThan(CHUNK + 2048);
    expect(head.commands).toEqual(['find resumable_uploads']);
    expect(head.bytesRead).toBeLessThan(2048);
    // a small PATCH reads none of the held head (2.5 MB) back until the head can be judged, only the
    // document (its tail is under a chunk) as the lease and progress writes return it
    expect(small.bytesRead).toBeLessThan(5 * rowAfterSmall);

    const done = await tus.patch(id, 2_501_024, tagged.subarray(2_501_024));
    expect(done.status).toBe(202);
    expect(done.body.sha256).toBe(sha256Of(tagged));
    const answer = await api.waitForAnswer(sessionId, 'q1');
    expect(answer.status).toBe('completed');
    expect(fake.requestsFor('q1').map((r) => r.sha256)).toEqual([sha256Of(tagged)]);
  });

  it('refuses a head that is not audio once it can be judged, and keeps none of its chunks', async () => {
    const api = new ApiClient(app.url, tokenFor('alice'));
    const sessionId = await api.newSession(['q1']);
    const picture = 600 * 1024;
    const tagged = Buffer.concat([id3TagHeader(picture), Buffer.alloc(picture, 0x41), Buffer.alloc(200_000, 7)]);
    const id = await tus.start(sessionId, 'q1', tagged.length);
    expect((await tus.patch(id, 0, tagged.subarray(0, 500_000))).status).toBe(204);
    expect(await db.db.collection('fs.chunks').countDocuments({ files_id: new ObjectId(id) })).toBeGreaterThan(0);
    const refused = await tus.patch(id, 500_000, tagged.subarray(500_000));
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toMatch(/not a supported audio recording/);
    expect(await db.db.collection('resumable_uploads').countDocuments({ _id: new ObjectId(id) })).toBe(0);
    expect(await db.db.collection('fs.chunks').countDocuments({ files_id: new ObjectId(id) })).toBe(0);
  });
});

describe('HEAD /api/uploads/:id', () => {
  it('is rate-limited per user in a bucket of its own (RATE_LIMIT_UPLOAD_CHECKS_PER_MINUTE)', async () => {
    const own = await AppProcess.start({
      mongodbUri: db.uri,
      openaiUrl: fake.url,
      env: { RATE_LIMIT_UPLOAD_CHECKS_PER_MINUTE: '3' },
    });
    try {
      const carol = new TusClient(new ApiClient(own.url, tokenFor('carol')));
      const sessionId = await carol.api.newSession(['q1']);
      const id = await carol.start(sessionId, 'q1', 100_000);
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await carol.head(id)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const refused = await carol.head(id);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      // PATCHes, creations and other users are counted elsewhere
      expect((await carol.patch(id, 0, Buffer.alloc(0))).status).toBe(204);
      expect((await carol.create(sessionId, 'q1', 1000)).status).toBe(201);
      const dave = new TusClient(new ApiClient(own.url, tokenFor('dave')));
      expect((await dave.head(id)).status).toBe(404);
    } finally {
      await own.stop('SIGKILL');
    }
  });
});
