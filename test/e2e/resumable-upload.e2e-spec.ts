import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { encodedTone, id3TagHeader, wavTone } from '../support/audio.js';
import { runCleanup } from '../support/cleanup-command.js';
import { useE2eApp } from '../support/e2e.js';
import { expectedTranscript, sha256Of } from '../support/fake-openai.js';
import { patchCutOff, patchStream, TusClient } from '../support/tus.js';
import { Readable } from 'node:stream';

const CHUNK = 16_384;
const ENV = { GRIDFS_CHUNK_SIZE_BYTES: String(CHUNK), MAX_UPLOAD_BYTES: String(8 * 1024 * 1024) };

const { db, fake, app, clientFor, startApp } = useE2eApp('resumable', { env: ENV, server: { stopWith: 'SIGKILL' } });
const alice = clientFor('alice');
const tus = new TusClient(alice);

const uploads = () => db.db.collection('resumable_uploads');
const chunksOf = (id: string) => db.db.collection('fs.chunks').countDocuments({ files_id: new ObjectId(id) });

/** The transcript the session holds for the question, once transcribed, and what the provider was sent. */
async function transcribed(api: ApiClient, sessionId: string, questionId: string) {
  const answer = await api.waitForAnswer(sessionId, questionId);
  return { answer, sent: fake.requestsFor(questionId) };
}

describe('tus uploads at /api/uploads', () => {
  it('resumes three times from the offset the server reports after the socket was destroyed mid-stream', async () => {
    const sessionId = await alice.newSession(['q1']);
    const audio = wavTone(30, 440); // 960 KB
    const id = await tus.start(sessionId, 'q1', audio.length);
    expect(await tus.offset(id)).toBe(0);

    let offset = 0;
    for (const cut of [150_000, 200_000, 170_000]) {
      await patchCutOff(app.url, tokenFor('alice'), id, offset, audio.subarray(offset), cut);
      const reported = await waitForSettledOffset(id);
      // everything that arrived is kept: full chunks and the tail in the upload's document
      expect(reported).toBeGreaterThan(offset);
      expect(reported).toBeLessThanOrEqual(offset + cut);
      offset = reported;
    }
    const doc = await uploads().findOne({ _id: new ObjectId(id) });
    expect(doc!.offset).toBe(offset);
    expect(doc!.tail.buffer.length).toBe(offset - doc!.next_n * CHUNK);
    expect(await chunksOf(id)).toBe(doc!.next_n);

    const done = await tus.patch(id, offset, audio.subarray(offset));
    expect(done.status).toBe(202);
    expect(done.body).toEqual({
      status: 'processing',
      message: 'Upload received; the answer is queued for transcription.',
      file_id: id,
      transcription_status: 'queued',
      sha256: sha256Of(audio),
    });
    const { answer, sent } = await transcribed(alice, sessionId, 'q1');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ bytes: audio.length, sha256: sha256Of(audio) });
    expect(answer.transcript).toBe(expectedTranscript(sha256Of(audio)));
    expect(await uploads().countDocuments({ _id: new ObjectId(id) })).toBe(0);
    // done: the upload is gone, a late HEAD is a 404
    expect((await tus.head(id)).status).toBe(404);
  });

  it('is bound to its creator and its question, and checks what multipart checks', async () => {
    const sessionId = await alice.newSession(['q1']);
    const bob = new TusClient(alice.as('bob'));
    expect((await bob.create(sessionId, 'q1', 1000)).status).toBe(404);
    expect((await tus.create(sessionId, 'nope', 1000)).status).toBe(404);
    expect((await tus.create(sessionId, 'q1', 64 * 1024 * 1024)).status).toBe(413);
    const missing = await alice.request('POST', '/api/uploads', {
      headers: { 'tus-resumable': '1.0.0', 'upload-length': '1000' },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.detail).toMatch(/session_id and question_id/);

    const id = await tus.start(sessionId, 'q1', 100_000);
    expect((await bob.head(id)).status).toBe(404);
    expect((await bob.patch(id, 0, Buffer.alloc(10))).status).toBe(404);

    // not audio: refused on its first bytes, and nothing is kept
    const refused = await tus.patch(id, 0, Buffer.alloc(100_000, 7));
    expect(refused.status).toBe(400);
    expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(refused.body.detail).toMatch(/not a supported audio recording/);
    expect(await uploads().countDocuments({ _id: new ObjectId(id) })).toBe(0);
    expect(await chunksOf(id)).toBe(0);

    // termination
    const other = await tus.start(sessionId, 'q1', 200_000);
    expect((await tus.patch(other, 0, wavTone(3).subarray(0, 80_000))).status).toBe(204);
    expect(await chunksOf(other)).toBeGreaterThan(0);
    expect((await tus.terminate(other)).status).toBe(204);
    expect(await chunksOf(other)).toBe(0);
    expect((await tus.head(other)).status).toBe(404);
  });

  it('refuses a second writer while one PATCH is running, and nothing is corrupted', async () => {
    const sessionId = await alice.newSession(['q1']);
    const audio = wavTone(10, 660);
    const id = await tus.start(sessionId, 'q1', audio.length);
    // the first writer sends half, then stalls with its request still open
    const first = new Readable({ read() {} });
    const firstDone = patchStream(app.url, tokenFor('alice'), id, 0, audio.length, first);
    first.push(audio.subarray(0, 100_000));
    await waitFor(async () => ((await uploads().findOne({ _id: new ObjectId(id) }))?.lease_owner ? true : false));

    const second = await tus.patch(id, 0, audio);
    expect(second.status).toBe(423);
    expect(second.body.detail).toMatch(/Another request is writing this upload/);
    // nor is an offset given that is about to move: a client would resume from it for nothing
    const head = await tus.head(id);
    expect(head.status).toBe(423);
    expect(head.headers.get('retry-after')).toMatch(/^\d+$/);

    first.push(audio.subarray(100_000));
    first.push(null);
    const done = await firstDone;
    expect(done.status).toBe(202);
    expect(JSON.parse(done.text).sha256).toBe(sha256Of(audio));
    const { sent } = await transcribed(alice, sessionId, 'q1');
    expect(sent.map((r) => r.sha256)).toEqual([sha256Of(audio)]);
  });

  it('looks past an mp3 tag bigger than the sniff window (cover art), across PATCHes', async () => {
    const sessionId = await alice.newSession(['q1']);
    const picture = 300 * 1024;
    const tagged = Buffer.concat([id3TagHeader(picture), Buffer.alloc(picture, 0x41), encodedTone('mp3')]);
    const id = await tus.start(sessionId, 'q1', tagged.length);
    // the first PATCH ends inside the tag: the head is held, not judged
    expect((await tus.patch(id, 0, tagged.subarray(0, 100_000))).status).toBe(204);
    const done = await tus.patch(id, 100_000, tagged.subarray(100_000));
    expect(done.status).toBe(202);
    expect(done.body.sha256).toBe(sha256Of(tagged));
    const doc = await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    expect(doc!.answers.q1.audio).toMatchObject({ format: 'mp3', size_bytes: tagged.length });
    // transcribed before the next test looks at what the provider was sent
    const { sent } = await transcribed(alice, sessionId, 'q1');
    expect(sent.map((r) => r.sha256)).toEqual([sha256Of(tagged)]);
  });
});

describe('tus uploads across instances', () => {
  it('continues on a second instance after the first was killed between two PATCHes', async () => {
    const own = await startApp();
    const sessionId = await alice.newSession(['q1']);
    const audio = wavTone(20, 550);
    const first = new TusClient(new ApiClient(own.url, tokenFor('alice')));
    const id = await first.start(sessionId, 'q1', audio.length);
    expect((await first.patch(id, 0, audio.subarray(0, 300_001))).status).toBe(204);
    await own.stop('SIGKILL');

    expect(await tus.offset(id)).toBe(300_001);
    const done = await tus.patch(id, 300_001, audio.subarray(300_001));
    expect(done.status).toBe(202);
    expect(done.body.sha256).toBe(sha256Of(audio));
    const { sent, answer } = await transcribed(alice, sessionId, 'q1');
    expect(sent.map((r) => r.sha256)).toEqual([sha256Of(audio)]);
    expect(answer.transcript).toBe(expectedTranscript(sha256Of(audio)));
  });

  it('replaces chunks a crashed writer stored but never recorded, and hashes exactly the bytes kept', async () => {
    const sessionId = await alice.newSession(['q1']);
    const audio = wavTone(20, 480);
    const id = await tus.start(sessionId, 'q1', audio.length);
    expect((await tus.patch(id, 0, audio.subarray(0, 200_000))).status).toBe(204);
    const doc = await uploads().findOne({ _id: new ObjectId(id) });
    expect(doc!.hash_state.buffer.length).toBeGreaterThan(0);
    // a writer that died between inserting its chunks and recording them left these (other bytes)
    const fileId = new ObjectId(id);
    const stray = [doc!.next_n, doc!.next_n + 1, doc!.next_n + 5].map((n) => ({
      files_id: fileId,
      n,
      data: Buffer.alloc(CHUNK, 0x55),
      writer: 'a-writer-that-crashed',
    }));
    await db.db.collection('fs.chunks').insertMany(stray);

    const done = await tus.patch(id, 200_000, audio.subarray(200_000));
    expect(done.status).toBe(202);
    expect(done.body.sha256).toBe(sha256Of(audio));
    const stored = await db.db
      .collection('fs.chunks')
      .find({ files_id: fileId }, { sort: { n: 1 } })
      .toArray();
    expect(stored.map((c) => c.n)).toEqual([...Array(Math.ceil(audio.length / CHUNK)).keys()]);
    expect(Buffer.concat(stored.map((c) => c.data.buffer))).toEqual(audio);
    const { sent } = await transcribed(alice, sessionId, 'q1');
    expect(sent.map((r) => r.sha256)).toEqual([sha256Of(audio)]);
  });

  it('hashes the stored chunks again when an upload has no saved hash state', async () => {
    const sessionId = await alice.newSession(['q1']);
    const audio = wavTone(12, 620);
    const id = await tus.start(sessionId, 'q1', audio.length);
    expect((await tus.patch(id, 0, audio.subarray(0, 150_000))).status).toBe(204);
    // as an upload begun before the state was kept, or saved by another hash implementation
    await uploads().updateOne({ _id: new ObjectId(id) }, { $set: { hash_state: null } });
    expect((await tus.patch(id, 150_000, audio.subarray(150_000, 300_000))).status).toBe(204);
    await uploads().updateOne({ _id: new ObjectId(id) }, { $set: { hash_state: Buffer.alloc(116, 1) } });
    const done = await tus.patch(id, 300_000, audio.subarray(300_000));
    expect(done.status).toBe(202);
    expect(done.body.sha256).toBe(sha256Of(audio));
  });

  it('expires an unfinished upload, and the cleanup leaves none of its chunks', async () => {
    const short = await startApp({ RESUMABLE_UPLOAD_EXPIRY_MS: '1500' });
    try {
      const client = new TusClient(new ApiClient(short.url, tokenFor('alice')));
      const sessionId = await alice.newSession(['q1']);
      const audio = wavTone(5, 770);
      const id = await client.start(sessionId, 'q1', audio.length);
      const res = await client.patch(id, 0, audio.subarray(0, 100_000));
      expect(res.status).toBe(204);
      expect(res.headers.get('upload-expires')).toBeTruthy();
      expect(await chunksOf(id)).toBe(Math.floor(100_000 / CHUNK));
      await new Promise((r) => setTimeout(r, 1600));
      expect((await client.patch(id, 100_000, audio.subarray(100_000))).status).toBe(410);

      const report = await runCleanup(db.uri, { RESUMABLE_UPLOAD_EXPIRY_MS: '1500' });
      expect(report.expired_uploads).toBe(1);
      expect(await chunksOf(id)).toBe(0);
      expect(await uploads().countDocuments({ _id: new ObjectId(id) })).toBe(0);
    } finally {
      await short.stop('SIGKILL');
    }
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The offset once the cut-off request has let go of the upload (HEAD answers 423 while one holds it). */
async function waitForSettledOffset(id: string): Promise<number> {
  let offset = -1;
  await waitFor(async () => {
    if ((await uploads().findOne({ _id: new ObjectId(id) }))?.lease_owner) return false;
    const head = await tus.head(id);
    if (head.status === 423) return false;
    expect(head.status).toBe(200);
    offset = Number(head.headers.get('upload-offset'));
    return true;
  });
  return offset;
}
