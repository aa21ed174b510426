import { ObjectId } from 'mongodb';
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { encodedTone, wavTone } from '../support/audio.js';
import { useE2eApp } from '../support/e2e.js';
import { expectedTranscript, sha256Of } from '../support/fake-openai.js';
import { patchStream, TusClient } from '../support/tus.js';
import { Readable } from 'node:stream';

/*
 * tus creation-defer-length: a recording uploaded while it is made. The upload is created with
 * Upload-Defer-Length: 1, grows a PATCH at a time, and learns its length from the PATCH that carries
 * Upload-Length; only then does it become the answer. MAX_UPLOAD_BYTES bounds the bytes it holds
 * while the length is unknown.
 */

const CHUNK = 16_384;
const MAX_UPLOAD_BYTES = 1024 * 1024;
const ENV = {
  GRIDFS_CHUNK_SIZE_BYTES: String(CHUNK),
  MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
  RESUMABLE_UPLOAD_LEASE_MS: '1500',
};

const { db, fake, app, clientFor, startApp } = useE2eApp('tusdeferred', {
  env: ENV,
  server: { stopWith: 'SIGKILL' },
});
const alice = clientFor('alice');
const tus = new TusClient(alice);

const uploads = () => db.db.collection('resumable_uploads');
const uploadDoc = (id: string) => uploads().findOne({ _id: new ObjectId(id) });
const chunksOf = (id: string) => db.db.collection('fs.chunks').countDocuments({ files_id: new ObjectId(id) });
const sessionDoc = (id: string) => db.db.collection('interview_sessions').findOne({ _id: new ObjectId(id) });

/** Splits bytes into pieces of the given sizes, the rest as the last piece (a recorder's timeslices). */
function pieces(bytes: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  out.push(bytes.subarray(at));
  return out;
}

describe('tus uploads of deferred length', () => {
  it('grows a PATCH at a time, says Upload-Defer-Length while the length is unknown, and becomes the answer only with its last byte', async () => {
    const sessionId = await alice.newSession(['q1']);
    const created = await tus.createDeferred(sessionId, 'q1');
    expect(created.status).toBe(201);
    const id = created.headers.get('location')!.split('/').at(-1)!;
    expect((await uploadDoc(id))!.size).toBeNull();

    const head = await tus.head(id);
    expect(head.status).toBe(200);
    expect(head.headers.get('upload-defer-length')).toBe('1');
    expect(head.headers.get('upload-length')).toBeNull();
    expect(head.headers.get('upload-offset')).toBe('0');

    const audio = wavTone(12, 520); // 384 KB: pieces that cross chunks and the format check's window
    const parts = pieces(audio, [4_000, 30_000, 50_000, 16_384, 100_000, 1]);
    let offset = 0;
    for (const part of parts.slice(0, -1)) {
      const res = await tus.patch(id, offset, part);
      expect(res.status).toBe(204);
      offset += part.length;
      expect(res.headers.get('upload-offset')).toBe(String(offset));
      // not the answer before its last byte: nothing queued, nothing sent to the provider
      expect((await sessionDoc(sessionId))!.answers?.q1).toBeUndefined();
    }
    const growing = await tus.head(id);
    expect(growing.headers.get('upload-defer-length')).toBe('1');
    expect(growing.headers.get('upload-offset')).toBe(String(offset));
    const doc = await uploadDoc(id);
    expect(doc).toMatchObject({ size: null, offset, complete: false, format: { extension: 'wav' } });
    expect(await chunksOf(id)).toBe(Math.floor(offset / CHUNK));

    // the last piece carries the length
    const done = await tus.patch(id, offset, parts.at(-1)!, audio.length);
    expect(done.status).toBe(202);
    expect(done.headers.get('upload-offset')).toBe(String(audio.length));
    expect(done.body).toEqual({
      status: 'processing',
      message: 'Upload received; the answer is queued for transcription.',
      file_id: id,
      transcription_status: 'queued',
      sha256: sha256Of(audio),
    });
    const answer = await alice.waitForAnswer(sessionId, 'q1');
    expect(answer.transcript).toBe(expectedTranscript(sha256Of(audio)));
    expect(fake.requestsFor('q1').map((r) => [r.bytes, r.sha256])).toEqual([[audio.length, sha256Of(audio)]]);
    expect(await uploads().countDocuments({ _id: new ObjectId(id) })).toBe(0);
    expect((await tus.head(id)).status).toBe(404);
  });

  it('takes the length alone, in an empty PATCH once every byte is in (a recording shorter than the format window)', async () => {
    const sessionId = await alice.newSession(['q1']);
    const audio = encodedTone('webm'); // a browser's kind of recording, shorter than 64 KiB
    expect(audio.length).toBeLessThan(64 * 1024);
    const id = await tus.startDeferred(sessionId, 'q1');
    const [first, second] = pieces(audio, [Math.floor(audio.length / 2)]);
    expect((await tus.patch(id, 0, first)).status).toBe(204);
    expect((await tus.patch(id, first.length, second)).status).toBe(204);
    // held, not judged: its length was unknown, so it could not have ended
    expect((await uploadDoc(id))!.format).toBeNull();

    const done = await tus.patch(id, audio.length, new Uint8Array(0), audio.length);
    expect(done.status).toBe(202);
    expect(done.body.sha256).toBe(sha256Of(audio));
    expect((await sessionDoc(sessionId))!.answers.q1.audio).toMatchObject({ format: 'webm', size_bytes: audio.length });
    await alice.waitForAnswer(sessionId, 'q1');
  });

  it('resumes from the offset a cut-off PATCH that declared the length reached, the same length said again', async () => {
    const sessionId = await alice.newSession(['q1']);
    const audio = encodedTone('webm');
    const id = await tus.startDeferred(sessionId, 'q1');
    // the whole recording in one PATCH with its length (a recording stopped before its upload began),
    // cut once the server has taken the length (declared before any byte is read)
    const cut = httpRequest(`${app.url}/api/uploads/${id}`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${tokenFor('alice')}`,
        'tus-resumable': '1.0.0',
        'upload-offset': '0',
        'upload-length': String(audio.length),
        'content-type': 'application/offset+octet-stream',
        'content-length': String(audio.length),
      },
    });
    cut.on('error', () => undefined);
    cut.write(audio.subarray(0, Math.floor(audio.length * 0.6)));
    await waitFor(async () => (await uploadDoc(id))?.size === audio.length);
    await new Promise((r) => setTimeout(r, 500));
    cut.destroy();
    let offset = 0;
    await waitFor(async () => {
      const head = await tus.head(id);
      if (head.status !== 200) return false;
      offset = Number(head.headers.get('upload-offset'));
      return true;
    });
    // what arrived before the cut is kept (on a loaded machine possibly nothing: the length is what matters here)
    expect(offset).toBeLessThan(audio.length);
    expect((await uploadDoc(id))!.size).toBe(audio.length);
    // a different length is refused; the same again (as tus-js-client resends it) is no change
    const other = await tus.patch(id, offset, audio.subarray(offset), audio.length + 1);
    expect(other.status).toBe(400);
    expect(other.body.detail).toMatch(/^This upload's length is known already/);
    const done = await tus.patch(id, offset, audio.subarray(offset), audio.length);
    expect(done.body).toMatchObject({ sha256: sha256Of(audio) });
    expect(done.status).toBe(202);
    await alice.waitForAnswer(sessionId, 'q1');
  });

  it('refuses first bytes that are not audio, and keeps nothing', async () => {
    const sessionId = await alice.newSession(['q1']);
    const id = await tus.startDeferred(sessionId, 'q1');
    expect((await tus.patch(id, 0, Buffer.alloc(10_000, 7))).status).toBe(204);
    const refused = await tus.patch(id, 10_000, Buffer.alloc(60_000, 7));
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toMatch(/not a supported audio recording/);
    expect(await uploads().countDocuments({ _id: new ObjectId(id) })).toBe(0);
    expect(await chunksOf(id)).toBe(0);
  });

  it('refuses each length mistake with a sentence of its own', async () => {
    const sessionId = await alice.newSession(['q1']);
    const both = await alice.request('POST', '/api/uploads', {
      headers: {
        'tus-resumable': '1.0.0',
        'upload-length': '1000',
        'upload-defer-length': '1',
        'upload-metadata': TusClient.metadata({ session_id: sessionId, question_id: 'q1' }),
      },
    });
    expect(both.status).toBe(400);
    expect(both.body.detail).toBe(
      "Send one of Upload-Length (the recording's size in bytes) or Upload-Defer-Length: 1 (the length comes with a later PATCH).",
    );
    const two = await alice.request('POST', '/api/uploads', {
      headers: {
        'tus-resumable': '1.0.0',
        'upload-defer-length': '2',
        'upload-metadata': TusClient.metadata({ session_id: sessionId, question_id: 'q1' }),
      },
    });
    expect(two.status).toBe(400);
    expect(two.body.detail).toMatch(/^Upload-Defer-Length must be 1/);

    const audio = wavTone(3);
    const fixed = await tus.start(sessionId, 'q1', audio.length);
    const twice = await tus.patch(fixed, 0, audio.subarray(0, 1000), audio.length + 5);
    expect(twice.status).toBe(400);
    expect(twice.body.detail).toBe(
      `This upload's length is known already (${audio.length} bytes); Upload-Length may only repeat it, and only for an upload created with Upload-Defer-Length: 1.`,
    );

    const id = await tus.startDeferred(sessionId, 'q1');
    expect((await tus.patch(id, 0, audio.subarray(0, 5000))).status).toBe(204);
    const below = await tus.patch(id, 5000, new Uint8Array(0), 4000);
    expect(below.status).toBe(400);
    expect(below.body.detail).toBe(
      "Upload-Length 4000 is less than the 5000 bytes the upload holds already; send the recording's whole length.",
    );
    const tooLong = await tus.patch(id, 5000, audio.subarray(5000, 6000), MAX_UPLOAD_BYTES + 1);
    expect(tooLong.status).toBe(413);
    expect(tooLong.body.detail).toBe(
      `The recording is larger than MAX_UPLOAD_BYTES (${MAX_UPLOAD_BYTES} bytes) allows; upload a shorter answer.`,
    );
    const empty = await tus.startDeferred(sessionId, 'q1');
    const zero = await tus.patch(empty, 0, new Uint8Array(0), 0);
    expect(zero.status).toBe(400);
    expect(zero.body.detail).toBe('The recording is empty; record an answer and upload it again.');
    // none of them moved anything: the length is still unknown, the offset where it was
    expect(await uploadDoc(id)).toMatchObject({ size: null, offset: 5000 });
    expect(await uploadDoc(fixed)).toMatchObject({ size: audio.length, offset: 0 });
  });

  it('holds the running total to MAX_UPLOAD_BYTES while the length is unknown', async () => {
    const sessionId = await alice.newSession(['q1']);
    const audio = wavTone(40, 300); // 1.28 MB: more than the limit
    const id = await tus.startDeferred(sessionId, 'q1');
    const first = 600_000;
    expect((await tus.patch(id, 0, audio.subarray(0, first))).status).toBe(204);

    // declared by Content-Length: refused whole, before a byte is read
    const over = await tus.patch(id, first, audio.subarray(first, first + 500_000));
    expect(over.status).toBe(413);
    expect(over.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(over.body.detail).toBe(
      `These 500000 bytes would take the upload to 1100000 bytes, past MAX_UPLOAD_BYTES (${MAX_UPLOAD_BYTES}); the recording is too long to upload.`,
    );
    expect(await tus.offset(id)).toBe(first);

    // up to the limit exactly is fine
    const rest = MAX_UPLOAD_BYTES - first;
    expect((await tus.patch(id, first, audio.subarray(first, MAX_UPLOAD_BYTES))).status).toBe(204);
    expect(await tus.offset(id)).toBe(first + rest);

    // no Content-Length (chunked): cut where it reaches the limit, nothing past it kept
    const other = await tus.startDeferred(sessionId, 'q1');
    const chunked = await patchStream(
      app.url,
      tokenFor('alice'),
      other,
      0,
      null,
      Readable.from(pieces(audio, Array<number>(Math.ceil(audio.length / 65_536)).fill(65_536))),
    );
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.text).detail).toBe(
      'The recording is larger than MAX_UPLOAD_BYTES allows; upload a shorter answer.',
    );
    const kept = await uploadDoc(other);
    expect(kept!.size).toBeNull();
    expect(kept!.offset).toBeLessThanOrEqual(MAX_UPLOAD_BYTES);
    expect(await chunksOf(other)).toBeLessThanOrEqual(MAX_UPLOAD_BYTES / CHUNK);
  });

  it('holds the user’s upload places while a PATCH of unknown length runs, as any other', async () => {
    const limited = await startApp({ MAX_CONCURRENT_UPLOADS_PER_USER: '1' });
    const client = new TusClient(new ApiClient(limited.url, tokenFor('alice')));
    const sessionId = await alice.newSession(['q1', 'q2']);
    const audio = wavTone(5, 610);
    const first = await client.startDeferred(sessionId, 'q1');
    const second = await client.startDeferred(sessionId, 'q2');
    const body = new Readable({ read() {} });
    const running = patchStream(limited.url, tokenFor('alice'), first, 0, 100_000, body);
    body.push(audio.subarray(0, 20_000));
    await waitFor(async () => !!(await uploadDoc(first))?.lease_owner);

    const refused = await client.patch(second, 0, audio.subarray(0, 1000));
    expect(refused.status).toBe(429);
    body.push(audio.subarray(20_000, 100_000));
    body.push(null);
    expect((await running).status).toBe(204);
    expect((await client.patch(second, 0, audio.subarray(0, 1000))).status).toBe(204);
  });

  it('is terminated without a trace: no upload, no chunks, no answer', async () => {
    const sessionId = await alice.newSession(['q1']);
    const id = await tus.startDeferred(sessionId, 'q1');
    const audio = wavTone(6, 700);
    expect((await tus.patch(id, 0, audio.subarray(0, 100_000))).status).toBe(204);
    expect(await chunksOf(id)).toBe(Math.floor(100_000 / CHUNK));

    const removed = await tus.terminate(id);
    expect(removed.status).toBe(204);
    expect(await uploads().countDocuments({ _id: new ObjectId(id) })).toBe(0);
    expect(await chunksOf(id)).toBe(0);
    expect(await db.db.collection('fs.files').countDocuments({ _id: new ObjectId(id) })).toBe(0);
    expect((await tus.head(id)).status).toBe(404);
    expect((await tus.patch(id, 100_000, audio.subarray(100_000), audio.length)).status).toBe(404);
    expect((await sessionDoc(sessionId))!.answers?.q1).toBeUndefined();
  });
});

describe('tus uploads of deferred length across a crash', () => {
  it('resumes from the offset the server kept after its instance was killed mid-PATCH', async () => {
    const own = await startApp();
    const sessionId = await alice.newSession(['q1']);
    const audio = wavTone(20, 450); // 640 KB
    const first = new TusClient(new ApiClient(own.url, tokenFor('alice')));
    const id = await first.startDeferred(sessionId, 'q1');
    expect((await first.patch(id, 0, audio.subarray(0, 200_001))).status).toBe(204);

    // a PATCH is running (its bytes arriving) when the instance dies
    const body = new Readable({ read() {} });
    void patchStream(own.url, tokenFor('alice'), id, 200_001, 200_000, body).catch(() => undefined);
    body.push(audio.subarray(200_001, 300_000));
    await waitFor(async () => !!(await uploadDoc(id))?.lease_owner);
    await new Promise((r) => setTimeout(r, 300));
    await own.stop('SIGKILL');

    // the other instance answers once the dead one's lease ran out (RESUMABLE_UPLOAD_LEASE_MS)
    let head = await tus.head(id);
    await waitFor(async () => (head = await tus.head(id)).status === 200);
    expect(head.headers.get('upload-defer-length')).toBe('1');
    const offset = Number(head.headers.get('upload-offset'));
    expect(offset).toBeGreaterThanOrEqual(200_001);
    expect(offset).toBeLessThanOrEqual(300_000);

    const done = await tus.patch(id, offset, audio.subarray(offset), audio.length);
    expect(done.status).toBe(202);
    expect(done.body.sha256).toBe(sha256Of(audio));
    const answer = await alice.waitForAnswer(sessionId, 'q1');
    expect(answer.transcript).toBe(expectedTranscript(sha256Of(audio)));
    expect(fake.requestsFor('q1').map((r) => r.sha256)).toEqual([sha256Of(audio)]);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
