import { ObjectId } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor, type ApiResponse } from '../support/api.js';
import { wavTone } from '../support/audio.js';
import type { FaultAction, WireCommand } from '../support/database-proxy.js';
import { eventually } from '../support/database.js';
import { expectedTranscript, sha256Of } from '../support/fake-openai.js';
import { useProxiedApp } from '../support/proxied-app.js';
import { TusClient } from '../support/tus.js';

/*
 * The last PATCH of a tus upload runs a sequence of writes: the GridFS files document, the upload
 * marked complete, the answer attached to the session, the upload forgotten. A database error, a
 * stall or a cut connection may hit any of them, before or after the database applied it. Whatever
 * happened, the client is never told 500, and a later HEAD (what tus-js-client sends to resume) or
 * PATCH finishes the work: one answer, with the bytes sent, transcribed once, nothing left behind.
 * The faults are injected on the wire between the built server and the real database.
 */

const CHUNK = 16_384;
const ENV = {
  GRIDFS_CHUNK_SIZE_BYTES: String(CHUNK),
  MAX_UPLOAD_BYTES: String(8 * 1024 * 1024),
  RESUMABLE_UPLOAD_LEASE_MS: '3000',
};

const t = useProxiedApp('tuscompletion', ENV);
let alice: ApiClient;
let tus: TusClient;
let tone = 300;

beforeAll(() => {
  alice = new ApiClient(t.app.url, tokenFor('alice'));
  tus = new TusClient(alice);
});

const setKeys = (command: WireCommand) =>
  Object.keys((command.body.update as { $set?: object } | undefined)?.$set ?? {});

/** The writes of a completion, as they cross the wire. */
const STEPS: Record<string, (question: string) => (command: WireCommand) => boolean> = {
  // a replace (an upsert), under the upload's document lock: findAndModify, or update where no lock is taken
  'the files document': () => (c) => c.collection === 'fs.files' && (c.name === 'findAndModify' || c.name === 'update'),
  'the upload marked complete': () => (c) =>
    c.collection === 'resumable_uploads' &&
    c.name === 'findAndModify' &&
    (c.body.update as { $set?: { complete?: boolean } } | undefined)?.$set?.complete === true,
  'the answer attached': (question) => (c) =>
    c.collection === 'interview_sessions' &&
    (c.name === 'findAndModify' || c.name === 'update') &&
    setKeys(c).includes(`answers.${question}`),
  'the upload forgotten': () => (c) =>
    c.collection === 'resumable_uploads' &&
    (c.name === 'delete' || (c.name === 'findAndModify' && c.body.remove === true)),
};

const FAULTS: [string, FaultAction][] = [
  ['an error before it applies', { kind: 'fail-before' }],
  ['an error after it applied', { kind: 'fail-after' }],
];

/** A session with one question, and an upload of a fresh recording created for it. */
async function started(question: string) {
  const sessionId = await alice.newSession([question]);
  const audio = wavTone(2, tone++);
  const id = await tus.start(sessionId, question, audio.length);
  return { sessionId, audio, id };
}

/** A refusal the client can act on: never a 500, always problem details. */
function expectNoBug(res: ApiResponse, what: string) {
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).not.toBe(500);
  if (res.status >= 400) expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
}

/**
 * What a tus client does after a failed last PATCH: HEAD, then send what the server lacks. Returns
 * how it ended: the server holds every byte (HEAD said offset = length, or a PATCH answered 202),
 * or the upload is gone (finished before, or reset: the session then tells).
 */
async function resume(id: string, audio: Buffer): Promise<'head-says-complete' | 'accepted' | 'gone'> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const head = await tus.head(id);
    expectNoBug(head, 'HEAD');
    if (head.status === 423) {
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    if (head.status === 404) return 'gone';
    expect(head.status, 'HEAD').toBe(200);
    const offset = Number(head.headers.get('upload-offset'));
    expect(Number(head.headers.get('upload-length'))).toBe(audio.length);
    if (offset === audio.length) return 'head-says-complete';
    const res = await tus.patch(id, offset, audio.subarray(offset));
    expectNoBug(res, 'PATCH');
    if (res.status === 202) return 'accepted';
  }
  throw new Error('the upload never settled');
}

/** One answer with exactly these bytes, transcribed once, and nothing of the upload left behind. */
async function expectOneAnswer(sessionId: string, question: string, audio: Buffer, fileId: string) {
  const view = await alice.request('GET', `/api/sessions/${sessionId}`);
  expect(view.body.answers[question].audio.sha256).toBe(sha256Of(audio));
  const answer = await alice.waitForAnswer(sessionId, question);
  expect(answer).toMatchObject({ status: 'completed', transcript: expectedTranscript(sha256Of(audio)) });
  await new Promise((r) => setTimeout(r, 500)); // a second transcription would have started by now
  expect(t.fake.requestsFor(question).map((r) => r.sha256)).toEqual([sha256Of(audio)]);
  expect(await t.db.db.collection('resumable_uploads').countDocuments({ _id: new ObjectId(fileId) })).toBe(0);
  // transcribed: the audio is deleted, and no chunk of the upload is left over
  await eventually(async () => {
    expect(await t.db.db.collection('fs.files').countDocuments({ _id: new ObjectId(fileId) })).toBe(0);
    expect(await t.db.db.collection('fs.chunks').countDocuments({ files_id: new ObjectId(fileId) })).toBe(0);
  });
}

describe('a fault during the completion of a tus upload', () => {
  let n = 0;
  for (const [step, match] of Object.entries(STEPS)) {
    for (const [fault, action] of FAULTS) {
      it(`${step}, ${fault}: a later HEAD finishes it, one answer, one transcription`, async () => {
        const question = `q${++n}`;
        const { sessionId, audio, id } = await started(question);
        const hit = t.proxy.inject({ match: match(question), action });
        const last = await tus.patch(id, 0, audio);
        await hit;
        expectNoBug(last, 'the last PATCH');
        expect([202, 503]).toContain(last.status);
        if (last.status === 202) {
          expect(last.body.sha256).toBe(sha256Of(audio));
          // a client that asks again (its 202 lost) learns it is all in
          expect(['gone', 'head-says-complete']).toContain(await resume(id, audio));
        } else {
          expect(last.headers.get('retry-after')).toMatch(/^\d+$/);
          expect(['head-says-complete', 'accepted']).toContain(await resume(id, audio));
        }
        await expectOneAnswer(sessionId, question, audio, id);
      });
    }
  }
});

describe('a pause of the database during the completion of a tus upload', () => {
  let n = 0;
  for (const [step, match] of Object.entries(STEPS)) {
    it(`at ${step}: a HEAD meanwhile neither finishes it twice nor fails, and the PATCH answers 202`, async () => {
      const question = `s${++n}`;
      const { sessionId, audio, id } = await started(question);
      const hit = t.proxy.inject({ match: match(question), action: { kind: 'stall', ms: 1500 } });
      const last = tus.patch(id, 0, audio);
      await hit;
      // before the upload is marked complete HEAD gives the recorded offset; after, it is busy, or
      // (it waited for the document lock of the upload being forgotten) finished
      const head = await tus.head(id);
      expectNoBug(head, 'HEAD during the pause');
      expect([200, 404, 423]).toContain(head.status);
      if (head.status === 200) expect(Number(head.headers.get('upload-offset'))).toBeLessThan(audio.length);
      const done = await last;
      expect(done.status).toBe(202);
      expect(done.body.sha256).toBe(sha256Of(audio));
      expect(await resume(id, audio)).toBe('gone');
      await expectOneAnswer(sessionId, question, audio, id);
    });
  }

  it('past the write budget at the attach: 503, and a later HEAD finishes it once the lock has lapsed', async () => {
    const { sessionId, audio, id } = await started('s9');
    // the driver gives up after LOCK_WRITE_BUDGET_MS (8 s) and the statement never reaches the database
    const hit = t.proxy.inject({ match: STEPS['the answer attached']('s9'), action: { kind: 'stall', ms: 9_000 } });
    const last = await tus.patch(id, 0, audio);
    await hit;
    expectNoBug(last, 'the last PATCH');
    expect(last.status).toBe(503);
    expect(await resume(id, audio)).toBe('head-says-complete');
    await expectOneAnswer(sessionId, 's9', audio, id);
  }, 90_000);
});

describe('an upload left complete but not yet the answer', () => {
  /** Strands an upload: its last PATCH fails at the attach (before it applies), with a 503. */
  async function stranded(question: string) {
    const upload = await started(question);
    const hit = t.proxy.inject({ match: STEPS['the answer attached'](question), action: { kind: 'fail-before' } });
    const last = await tus.patch(upload.id, 0, upload.audio);
    await hit;
    expect(last.status).toBe(503);
    expect(last.body.detail).toMatch(/nothing that arrived is lost/);
    return upload;
  }

  it('is finished by an empty PATCH at its full length, which answers the 202 the last PATCH would have', async () => {
    const { sessionId, audio, id } = await stranded('p1');
    // any other offset is a conflict that says what to do
    const wrong = await tus.patch(id, 0, audio.subarray(0, 10));
    expect(wrong.status).toBe(409);
    const done = await tus.patch(id, audio.length, Buffer.alloc(0));
    expect(done.status).toBe(202);
    expect(done.body).toEqual({
      status: 'processing',
      message: 'Upload received; the answer is queued for transcription.',
      file_id: id,
      transcription_status: 'queued',
      sha256: sha256Of(audio),
    });
    expect((await tus.head(id)).status).toBe(404);
    await expectOneAnswer(sessionId, 'p1', audio, id);
  });

  it('is finished once when HEADs and PATCHes race to finish it', async () => {
    const { sessionId, audio, id } = await stranded('p2');
    const answers = await Promise.all([
      tus.head(id),
      tus.patch(id, audio.length, Buffer.alloc(0)),
      tus.head(id),
      tus.patch(id, audio.length, Buffer.alloc(0)),
      tus.head(id),
    ]);
    const statuses = answers.map((a) => a.status);
    for (const a of answers) expectNoBug(a, 'a racing request');
    // each either finished it (200 at full length, 202), found it finished (404), or found it busy (423)
    expect(
      statuses.every((s) => [200, 202, 404, 423].includes(s)),
      statuses.join(' '),
    ).toBe(true);
    expect(statuses.filter((s) => s === 200 || s === 202).length, statuses.join(' ')).toBeGreaterThanOrEqual(1);
    await expectOneAnswer(sessionId, 'p2', audio, id);
  });

  it('is not finished over a newer answer uploaded meanwhile: HEAD says it is gone, and its audio goes', async () => {
    const { sessionId, id } = await stranded('p3');
    const newer = wavTone(1, tone++);
    expect((await alice.upload(sessionId, 'p3', newer)).status).toBe(202);
    expect((await tus.head(id)).status).toBe(404);
    const view = await alice.request('GET', `/api/sessions/${sessionId}`);
    expect(view.body.answers.p3.audio.sha256).toBe(sha256Of(newer));
    expect(await t.db.db.collection('resumable_uploads').countDocuments({ _id: new ObjectId(id) })).toBe(0);
    expect(await t.db.db.collection('fs.files').countDocuments({ _id: new ObjectId(id) })).toBe(0);
    expect(await t.db.db.collection('fs.chunks').countDocuments({ files_id: new ObjectId(id) })).toBe(0);
    await alice.waitForAnswer(sessionId, 'p3');
    expect(t.fake.requestsFor('p3').map((r) => r.sha256)).toEqual([sha256Of(newer)]);
  });

  it('is not taken in twice when its answer landed unseen and a newer one replaced it since', async () => {
    const { sessionId, audio, id } = await started('p4');
    const hit = t.proxy.inject({ match: STEPS['the answer attached']('p4'), action: { kind: 'fail-after' } });
    expect((await tus.patch(id, 0, audio)).status).toBe(503);
    await hit;
    await alice.waitForAnswer(sessionId, 'p4'); // the answer did land, and is transcribed
    const newer = wavTone(1, tone++);
    expect((await alice.upload(sessionId, 'p4', newer)).status).toBe(202);
    await alice.waitForAnswer(sessionId, 'p4');
    expect((await tus.head(id)).status).toBe(404);
    const view = await alice.request('GET', `/api/sessions/${sessionId}`);
    expect(view.body.answers.p4.audio.sha256).toBe(sha256Of(newer));
    expect(t.fake.requestsFor('p4').map((r) => r.sha256)).toEqual([sha256Of(audio), sha256Of(newer)]);
  });

  it('survives the connection breaking just after the answer was attached', async () => {
    const { sessionId, audio, id } = await started('p5');
    const hit = t.proxy.inject({ match: STEPS['the answer attached']('p5'), action: { kind: 'cut-after' } });
    const last = await tus.patch(id, 0, audio);
    await hit;
    expectNoBug(last, 'the last PATCH');
    expect(last.status).toBe(503);
    expect(await resume(id, audio)).toBe('head-says-complete');
    await expectOneAnswer(sessionId, 'p5', audio, id);
  });

  it('answers HEAD with 423 while the request that brought the last byte is still finishing it', async () => {
    const { sessionId, audio, id } = await started('p6');
    const hit = t.proxy.inject({ match: STEPS['the answer attached']('p6'), action: { kind: 'stall', ms: 1500 } });
    const last = tus.patch(id, 0, audio);
    await hit;
    const head = await tus.head(id);
    expect(head.status).toBe(423);
    expect(head.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await last).status).toBe(202);
    expect((await tus.head(id)).status).toBe(404);
    await expectOneAnswer(sessionId, 'p6', audio, id);
  });

  it('is refused at its last byte once its session is erased, and leaves no document, file or chunk', async () => {
    const { sessionId, audio, id } = await started('p7');
    expect((await tus.patch(id, 0, audio.subarray(0, 50_000))).status).toBe(204);
    expect((await alice.request('DELETE', `/api/sessions/${sessionId}`)).status).toBe(204);
    const last = await tus.patch(id, 50_000, audio.subarray(50_000));
    expectNoBug(last, 'the last PATCH');
    expect(last.status).toBe(404);
    expect(await t.db.db.collection('resumable_uploads').countDocuments({ _id: new ObjectId(id) })).toBe(0);
    expect(await t.db.db.collection('fs.files').countDocuments({ _id: new ObjectId(id) })).toBe(0);
    expect(await t.db.db.collection('fs.chunks').countDocuments({ files_id: new ObjectId(id) })).toBe(0);
  });
});
