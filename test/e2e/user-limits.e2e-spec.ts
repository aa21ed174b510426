import { ObjectId } from 'mongodb';
import { request, type IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { AppProcess } from '../support/app-process.js';
import { wavTone } from '../support/audio.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { FakeOpenAI } from '../support/fake-openai.js';
import { partHeader, rawRequest, writeAll } from '../support/raw-http.js';
import { EventStreamClient } from '../support/sse.js';
import { patchStream, TusClient } from '../support/tus.js';

/** What one user may hold at once, counted in the database so that every instance enforces the same limit. */
const LEASE_MS = 1500;
const ENV = {
  MAX_SESSIONS_PER_USER: '3',
  MAX_EVENT_STREAMS_PER_USER: '2',
  MAX_CONCURRENT_UPLOADS_PER_USER: '1',
  USER_LEASE_MS: String(LEASE_MS),
};

let db: TestDatabase;
let fake: FakeOpenAI;
let app: AppProcess;
let alice: ApiClient;

beforeAll(async () => {
  db = await openTestDatabase('user_limits');
  fake = await FakeOpenAI.start();
  app = await AppProcess.start({ mongodbUri: db.uri, openaiUrl: fake.url, env: ENV });
  alice = new ApiClient(app.url, tokenFor('alice'));
});

afterAll(async () => {
  await app?.stop();
  await fake?.close();
  await db?.drop();
});

const leases = () => db.db.collection('user_leases');
const liveLeases = (userId: string, kind: string) =>
  leases().countDocuments({ user_id: userId, kind, expires_at: { $gt: new Date() } });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(25);
  }
}

const STREAM_REFUSAL = `You already have 2 event streams open (MAX_EVENT_STREAMS_PER_USER); close one (an EventSource you no longer need) and retry in 2 seconds.`;
const UPLOAD_REFUSAL = `You already have 1 upload in flight (MAX_CONCURRENT_UPLOADS_PER_USER); wait for one to finish and retry in 2 seconds.`;

async function refusedStream(url: string, sessionId: string, user = 'alice') {
  const res = await fetch(`${url}/api/sessions/${sessionId}/events`, {
    headers: { authorization: `Bearer ${tokenFor(user)}`, accept: 'text/event-stream' },
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    retryAfter: res.headers.get('retry-after'),
    body: await res.json(),
  };
}

describe('open event streams per user', () => {
  it('refuses the third stream with a 429 problem, keeps counting streams held past the lease, and frees a place when one closes', async () => {
    const sessionId = await alice.newSession(['q1']);
    const url = `${app.url}/api/sessions/${sessionId}/events`;
    const first = await EventStreamClient.open(url, tokenFor('alice'));
    const second = await EventStreamClient.open(url, tokenFor('alice'));
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(await liveLeases('alice', 'event_stream')).toBe(2);

    const third = await EventStreamClient.open(url, tokenFor('alice'));
    expect(third.status).toBe(429);
    expect(third.contentType).toMatch(/^application\/problem\+json/);
    const refused = await refusedStream(app.url, sessionId);
    expect(refused).toEqual({
      status: 429,
      type: expect.stringMatching(/^application\/problem\+json/),
      retryAfter: '2',
      body: expect.objectContaining({
        type: 'about:blank',
        title: 'Too Many Requests',
        status: 429,
        detail: STREAM_REFUSAL,
      }),
    });
    // the refused attempts left no row behind
    expect(await leases().countDocuments({ user_id: 'alice', kind: 'event_stream' })).toBe(2);

    // another user is not affected
    const bob = await EventStreamClient.open(
      `${app.url}/api/sessions/${await alice.as('bob').newSession(['q1'])}/events`,
      tokenFor('bob'),
    );
    expect(bob.status).toBe(200);
    await bob.close();

    // held for twice the lease: renewed, still counted
    await wait(LEASE_MS * 2);
    expect((await refusedStream(app.url, sessionId)).status).toBe(429);

    await first.close();
    await until(
      'the closed stream to give its place back',
      async () => (await liveLeases('alice', 'event_stream')) === 1,
    );
    const again = await EventStreamClient.open(url, tokenFor('alice'));
    expect(again.status).toBe(200);
    await Promise.all([second.close(), again.close()]);
    await until('every stream lease to go', async () => (await leases().countDocuments({ user_id: 'alice' })) === 0);
  });

  it('counts the streams of another instance, and forgets those of a crashed one once their lease lapses', async () => {
    const other = await AppProcess.start({ mongodbUri: db.uri, openaiUrl: fake.url, env: ENV });
    const carol = alice.as('carol');
    const sessionId = await carol.newSession(['q1']);
    const url = `${other.url}/api/sessions/${sessionId}/events`;
    const held = [
      await EventStreamClient.open(url, tokenFor('carol')),
      await EventStreamClient.open(url, tokenFor('carol')),
    ];
    expect(held.map((s) => s.status)).toEqual([200, 200]);
    await other.stop('SIGKILL');
    for (const stream of held) await stream.close().catch(() => undefined);

    // the dead instance's rows still count on this one, until they expire
    expect((await refusedStream(app.url, sessionId, 'carol')).status).toBe(429);
    await until(
      'the crashed holder’s leases to lapse',
      async () => (await liveLeases('carol', 'event_stream')) === 0,
      LEASE_MS * 3,
    );
    const after = await EventStreamClient.open(`${app.url}/api/sessions/${sessionId}/events`, tokenFor('carol'));
    expect(after.status).toBe(200);
    await after.close();
    // the expired rows were deleted by the next acquire
    await until('stale rows to be gone', async () => (await leases().countDocuments({ user_id: 'carol' })) === 0);
  });
});

/** A multipart upload that sends its first bytes and then holds until `release` is called. */
function heldMultipart(sessionId: string, questionId: string, user: string) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const response = rawRequest(`${app.url}/api/upload-answer/${sessionId}/${questionId}`, {
    headers: { authorization: `Bearer ${tokenFor(user)}`, 'content-type': 'multipart/form-data; boundary=AbC' },
    write: async (req) => {
      await writeAll(req, partHeader('AbC', { name: 'audio', filename: 'a.wav', contentType: 'audio/wav', data: '' }));
      await writeAll(req, wavTone(1, 300));
      await released;
      await writeAll(req, '\r\n--AbC--\r\n');
    },
  });
  return { response, release };
}

describe('uploads in flight per user', () => {
  it('refuses a second multipart upload while one is in flight, changes nothing, and takes it once the first is done', async () => {
    const dave = alice.as('dave');
    const sessionId = await dave.newSession(['q1', 'q2']);
    const first = heldMultipart(sessionId, 'q1', 'dave');
    await until('the first upload to hold its lease', async () => (await liveLeases('dave', 'upload')) === 1);

    const before = await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    const filesBefore = await db.db.collection('fs.files').countDocuments();
    const refused = await dave.upload(sessionId, 'q2', wavTone(0.3, 500));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(refused.body).toMatchObject({ status: 429, title: 'Too Many Requests', detail: UPLOAD_REFUSAL });
    expect(await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) })).toEqual(before);
    expect(await db.db.collection('fs.files').countDocuments()).toBe(filesBefore);
    expect(await leases().countDocuments({ user_id: 'dave', kind: 'upload' })).toBe(1);

    first.release();
    expect((await first.response).status).toBe(202);
    await until('the finished upload to give its place back', async () => (await liveLeases('dave', 'upload')) === 0);
    expect((await dave.upload(sessionId, 'q2', wavTone(0.3, 500))).status).toBe(202);
    expect(await leases().countDocuments({ user_id: 'dave' })).toBe(0);
  });

  it('counts tus PATCHes in flight, and multipart uploads with them', async () => {
    const erin = alice.as('erin');
    const tus = new TusClient(erin);
    const sessionId = await erin.newSession(['q1', 'q2']);
    const audio = wavTone(2, 440);
    const id = await tus.start(sessionId, 'q1', audio.length);
    const body = new PassThrough();
    const patch = patchStream(app.url, tokenFor('erin'), id, 0, audio.length, body);
    body.write(audio.subarray(0, 40_000));
    await until('the PATCH to hold its lease', async () => (await liveLeases('erin', 'upload')) === 1);

    const otherId = await tus.start(sessionId, 'q2', audio.length);
    const second = await erin.request('PATCH', `/api/uploads/${otherId}`, {
      headers: {
        'tus-resumable': '1.0.0',
        'upload-offset': '0',
        'content-type': 'application/offset+octet-stream',
      },
      body: audio,
    });
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('2');
    expect(second.body).toMatchObject({ status: 429, detail: UPLOAD_REFUSAL });
    expect(await tus.offset(otherId)).toBe(0);
    expect((await erin.upload(sessionId, 'q2', wavTone(0.3, 500))).status).toBe(429);

    body.end(audio.subarray(40_000));
    expect((await patch).status).toBe(202);
    await until('the PATCH to give its place back', async () => (await liveLeases('erin', 'upload')) === 0);
    expect((await erin.upload(sessionId, 'q2', wavTone(0.3, 500))).status).toBe(202);
  });
});

/**
 * Before it takes a place, the JSON body parser may have read a request's body, which destroys the
 * request while its client still waits: the place must not be given back as if the client had left,
 * with no answer sent (the hostile-input harness found PATCHes left hanging).
 */
describe('a request whose body was read before it took its place', () => {
  it('is answered, as a tus PATCH, and gives its place back', async () => {
    const ivan = alice.as('ivan');
    const sessionId = await ivan.newSession(['q1']);
    const id = await new TusClient(ivan).start(sessionId, 'q1', 1000);
    const answered = await Promise.race([
      rawRequest(`${app.url}/api/uploads/${id}`, {
        method: 'PATCH',
        headers: {
          authorization: `Bearer ${tokenFor('ivan')}`,
          'tus-resumable': '1.0.0',
          'upload-offset': '0',
          'content-type': 'application/json',
        },
        write: (req) => writeAll(req, '{"a":1}'),
      }),
      wait(5000).then(() => null),
    ]);
    expect(answered?.status).toBe(400);
    expect(answered?.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(answered?.body).toMatchObject({ detail: 'Content-Type must be application/offset+octet-stream.' });
    await until(
      'the PATCH to give its place back',
      async () => (await leases().countDocuments({ user_id: 'ivan' })) === 0,
    );
  });

  it('opens its event stream, and gives its place back when the stream closes', async () => {
    const sessionId = await alice.as('judy').newSession(['q1']);
    const req = request(`${app.url}/api/sessions/${sessionId}/events`, {
      method: 'GET',
      agent: false,
      headers: {
        authorization: `Bearer ${tokenFor('judy')}`,
        'content-type': 'application/json',
        'content-length': '7', // a GET is not chunked
      },
    });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
    });
    req.end('{"a":1}');
    const res = await Promise.race([response, wait(5000).then(() => null)]);
    expect(res?.statusCode).toBe(200);
    expect(res?.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(await liveLeases('judy', 'event_stream')).toBe(1);
    req.destroy();
    await until(
      'the stream to give its place back',
      async () => (await leases().countDocuments({ user_id: 'judy' })) === 0,
    );
  });
});

describe('sessions per user', () => {
  const SESSION_REFUSAL =
    'You have 3 interview sessions, the most one account may keep (MAX_SESSIONS_PER_USER); erase sessions you no longer need (DELETE /api/sessions/{sessionId}) and create this one again.';
  const owned = (userId: string) => db.db.collection('interview_sessions').countDocuments({ user_id: userId });

  it('refuses a fourth session with a 409 problem and keeps nothing of it; an erasure makes room', async () => {
    const frank = alice.as('frank');
    const ids = [await frank.newSession(['a']), await frank.newSession(['a']), await frank.newSession(['a'])];
    const refused = await frank.createSession([{ text: 'One too many?' }], 'refused');
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({
      type: 'about:blank',
      title: 'Conflict',
      status: 409,
      detail: SESSION_REFUSAL,
    });
    expect(await owned('frank')).toBe(3);
    expect(await db.db.collection('interview_sessions').countDocuments({ user_id: 'frank', title: 'refused' })).toBe(0);
    expect((await alice.createSession([{ text: 'Another user?' }])).status).toBe(201);

    expect((await frank.request('DELETE', `/api/sessions/${ids[0]}`)).status).toBe(204);
    expect((await frank.createSession([{ text: 'Room now?' }])).status).toBe(201);
    expect(await owned('frank')).toBe(3);
  });

  it('keeps at most the limit when eight creations race, and exactly those it answered 201', async () => {
    const gina = alice.as('gina');
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => gina.createSession([{ text: `Race ${i}?` }])),
    );
    const created = answers.filter((a) => a.status === 201).map((a) => a.body.session_id as string);
    expect(answers.every((a) => a.status === 201 || a.status === 409)).toBe(true);
    expect(created.length).toBeLessThanOrEqual(3);
    const stored = await db.db
      .collection('interview_sessions')
      .find({ user_id: 'gina' }, { projection: { _id: 1 } })
      .toArray();
    expect(stored.map((s) => String(s._id)).sort()).toEqual(created.sort());
  });
});
