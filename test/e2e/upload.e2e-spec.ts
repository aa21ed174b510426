import { ObjectId } from 'mongodb';
import { once } from 'node:events';
import { connect } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { encodedTone, streamingWav, wavTone } from '../support/audio.js';
import { gridfsCounts } from '../support/database.js';
import { useE2eApp } from '../support/e2e.js';
import { expectedTranscript, sha256Of } from '../support/fake-openai.js';
import { multipartRequest, partHeader, rawRequest, writeAll } from '../support/raw-http.js';

const MAX_UPLOAD_BYTES = 300_000;

const { db, fake, app, clientFor } = useE2eApp('upload', {
  // small chunks so that a partial upload really has chunks in the database when it is cut off
  env: { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES), GRIDFS_CHUNK_SIZE_BYTES: '16384' },
});
const alice = clientFor('alice');
const bob = clientFor('bob');

const sessions = () => db.db.collection('interview_sessions');

async function waitForEmptyGridfs(timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await gridfsCounts(db.db);
    if (counts.files === 0 && counts.chunks === 0) return;
    if (Date.now() > deadline) throw new Error(`GridFS still holds ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('POST /api/upload-answer/:sessionId/:questionId', () => {
  it('streams the audio into GridFS with its metadata and answers 202 at once', async () => {
    const sessionId = await alice.newSession(['q1']);
    let release!: () => void;
    fake.script('q1', { kind: 'hold', until: new Promise<void>((r) => (release = r)) });
    const audio = wavTone(0.5, 523);

    const res = await alice.upload(sessionId, 'q1', audio, { filename: 'recording.webm', contentType: 'audio/webm' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      status: 'processing',
      message: expect.any(String),
      file_id: expect.stringMatching(/^[0-9a-f]{24}$/),
      transcription_status: 'queued',
      sha256: sha256Of(audio),
    });

    const file = await db.db.collection('fs.files').findOne({ _id: new ObjectId(res.body.file_id) });
    expect(file).not.toBeNull();
    expect(file!.length).toBe(audio.length);
    // judged by the bytes: a WAV labelled audio/webm is stored as WAV
    expect(file!.metadata).toEqual({
      session_id: new ObjectId(sessionId),
      question_id: 'q1',
      user_id: 'alice',
      answer_id: expect.any(String),
      content_type: 'audio/wav',
      upload_date: expect.any(Date),
      status: 'queued',
      sha256: sha256Of(audio),
      size_bytes: audio.length,
    });
    const session = await sessions().findOne({ _id: new ObjectId(sessionId) });
    expect(session!.answers.q1).toMatchObject({
      question_id: 'q1',
      gridfs_file_id: new ObjectId(res.body.file_id),
      transcript: null,
      audio: { format: 'wav', content_type: 'audio/wav', size_bytes: audio.length, sha256: sha256Of(audio) },
    });
    expect(session!.answers.q1.id).toBe(file!.metadata.answer_id);

    await fake.waitFor(() => fake.requestsFor('q1').length === 1, 10_000, 'the transcription request');
    release();
    const done = await alice.waitForAnswer(sessionId, 'q1');
    expect(done.transcript).toBe(expectedTranscript(sha256Of(audio)));
    await waitForEmptyGridfs();
  });

  it.each(['webm', 'ogg', 'mp3', 'm4a', 'flac'] as const)(
    'accepts a %s recording and sends it on as one',
    async (format) => {
      const audio = encodedTone(format, 300 + format.length);
      const sessionId = await alice.newSession(['q1']);
      const res = await alice.upload(sessionId, 'q1', audio, {
        filename: 'blob',
        contentType: 'application/octet-stream',
      });
      expect(res.status).toBe(202);
      const done = await alice.waitForAnswer(sessionId, 'q1');
      expect(done).toMatchObject({ status: 'completed', transcript: expectedTranscript(sha256Of(audio)) });
      const [sent] = fake.requestsFor('q1');
      expect(sent.filename).toBe(`answer-q1.${format === 'ogg' ? 'ogg' : format}`);
      expect(sent.bytes).toBe(audio.length);
    },
  );

  it('refuses uploads without a valid token (401), for unknown or foreign sessions and questions (404)', async () => {
    const sessionId = await alice.newSession(['q1']);
    const audio = wavTone(0.1);
    expect((await new ApiClient(app.url).upload(sessionId, 'q1', audio)).status).toBe(401);
    const foreign = await bob.upload(sessionId, 'q1', audio);
    const missing = await bob.upload(new ObjectId().toHexString(), 'q1', audio);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(missing.body);
    const unknownQuestion = await alice.upload(sessionId, 'nope', audio);
    expect(unknownQuestion.status).toBe(404);
    expect(unknownQuestion.body.message).toBe('This session has no question with that id.');
    expect((await alice.upload('not-an-id', 'q1', audio)).status).toBe(400);
    expect((await alice.upload(sessionId, 'bad.id', audio)).status).toBe(400);
    await waitForEmptyGridfs();
    expect((await sessions().findOne({ _id: new ObjectId(sessionId) }))!.answers).toEqual({});
  });

  describe('refuses bad bodies with a 400 and stores nothing', () => {
    let sessionId: string;
    beforeAll(async () => {
      sessionId = await alice.newSession(['q1']);
    });

    const cases: [string, () => Promise<{ status: number; body: any }>, RegExp][] = [
      [
        'no audio field',
        () => alice.upload(sessionId, 'q1', wavTone(0.1), { field: 'file' }),
        /Unexpected file field "file"/,
      ],
      ['an empty file', () => alice.upload(sessionId, 'q1', new Uint8Array(0)), /The "audio" file is empty/],
      [
        'a text file renamed .webm',
        () =>
          alice.upload(sessionId, 'q1', new TextEncoder().encode('hello, I am not audio at all '.repeat(50)), {
            filename: 'x.webm',
            contentType: 'audio/webm',
          }),
        /not a supported audio recording/,
      ],
      [
        'a PNG image',
        () =>
          alice.upload(
            sessionId,
            'q1',
            Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex'),
          ),
        /not a supported audio recording/,
      ],
      [
        'JSON instead of multipart',
        () => alice.request('POST', `/api/upload-answer/${sessionId}/q1`, { json: { audio: 'AAAA' } }),
        /multipart\/form-data/,
      ],
      [
        'multipart without a boundary',
        () =>
          alice.request('POST', `/api/upload-answer/${sessionId}/q1`, {
            body: 'abc',
            headers: { 'content-type': 'multipart/form-data' },
          }),
        /multipart\/form-data \(with a boundary\)/,
      ],
      [
        'two audio parts',
        () =>
          multipartRequest(`${app.url}/api/upload-answer/${sessionId}/q1`, tokenFor('alice'), [
            { name: 'audio', filename: 'a.wav', contentType: 'audio/wav', data: wavTone(0.1, 200) },
            { name: 'audio', filename: 'b.wav', contentType: 'audio/wav', data: wavTone(0.1, 300) },
          ]),
        /exactly one "audio" file part/,
      ],
      [
        'a body cut off before its closing boundary',
        () =>
          rawRequest(`${app.url}/api/upload-answer/${sessionId}/q1`, {
            headers: {
              authorization: `Bearer ${tokenFor('alice')}`,
              'content-type': 'multipart/form-data; boundary=XyZ',
            },
            write: async (req) => {
              await writeAll(
                req,
                partHeader('XyZ', { name: 'audio', filename: 'a.wav', contentType: 'audio/wav', data: '' }),
              );
              await writeAll(req, wavTone(0.5, 250));
            },
          }),
        /malformed or was cut off/,
      ],
      [
        'no file at all',
        () =>
          multipartRequest(`${app.url}/api/upload-answer/${sessionId}/q1`, tokenFor('alice'), [
            { name: 'note', data: 'hi' },
          ]),
        /No "audio" file part found/,
      ],
    ];

    it.each(cases)('%s', async (_what, send, message) => {
      const res = await send();
      expect(res.status).toBe(400);
      expect(res.body.statusCode).toBe(400);
      expect(res.body.message).toMatch(message);
      await waitForEmptyGridfs();
      expect((await sessions().findOne({ _id: new ObjectId(sessionId) }))!.answers).toEqual({});
    });
  });

  describe('size limit (MAX_UPLOAD_BYTES)', () => {
    it('answers 413 for a declared length over the limit without storing anything', async () => {
      const sessionId = await alice.newSession(['q1']);
      const res = await alice.upload(sessionId, 'q1', wavTone(12, 440)); // ~384 KB
      expect(res.status).toBe(413);
      expect(res.body.message).toContain(`${MAX_UPLOAD_BYTES}-byte limit (MAX_UPLOAD_BYTES)`);
      await waitForEmptyGridfs();
    });

    it('answers 413 for a streamed body that grows past the limit and removes the partial file', async () => {
      const sessionId = await alice.newSession(['q1']);
      const res = await multipartRequest(`${app.url}/api/upload-answer/${sessionId}/q1`, tokenFor('alice'), [
        { name: 'audio', filename: 'long.wav', contentType: 'audio/wav', data: streamingWav(5_000_000, 16 * 1024) },
      ]).catch((error: Error) => ({ status: -1, body: error.message }));
      // with the error's text, should the client see no answer at all
      expect({ status: res.status, body: res.status === 413 ? null : res.body }).toEqual({ status: 413, body: null });
      await waitForEmptyGridfs();
      expect((await sessions().findOne({ _id: new ObjectId(sessionId) }))!.answers).toEqual({});
    });

    it('reads the rest of a refused body, so that a client that reads only after sending all of it gets the 413', async () => {
      // as a browser's fetch does: the whole body first, then the answer; and Connection: close, so
      // the server closes the connection after its answer (with bytes still arriving, a reset)
      const sessionId = await alice.newSession(['q1']);
      const boundary = 'refused-body-boundary';
      const body = Buffer.concat([
        Buffer.from(partHeader(boundary, { name: 'audio', filename: 'long.wav', contentType: 'audio/wav', data: '' })),
        // far past the limit, and more than the two ends' socket buffers hold: the client is still
        // writing when the refusal is ready
        wavTone(1, 440),
        Buffer.alloc(24 * 1024 * 1024),
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const url = new URL(`${app.url}/api/upload-answer/${sessionId}/q1`);
      const socket = connect(Number(url.port), url.hostname);
      await once(socket, 'connect');
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      const closed = once(socket, 'close');
      const written = new Promise<string>((resolve) => {
        socket.once('error', (error: Error) => resolve(error.message));
        const head =
          `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${tokenFor('alice')}\r\n` +
          `Content-Type: multipart/form-data; boundary=${boundary}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
        socket.write(head);
        for (let at = 0; at < body.length; at += 64 * 1024) {
          const piece = body.subarray(at, at + 64 * 1024);
          socket.write(`${piece.length.toString(16)}\r\n`);
          socket.write(piece);
          socket.write('\r\n');
        }
        socket.write('0\r\n\r\n', () => resolve('sent'));
      });
      expect(await written).toBe('sent');
      await closed;
      const answer = Buffer.concat(received).toString();
      expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
      expect(answer).toContain(`${MAX_UPLOAD_BYTES}-byte limit (MAX_UPLOAD_BYTES)`);
      await waitForEmptyGridfs();
      expect((await sessions().findOne({ _id: new ObjectId(sessionId) }))!.answers).toEqual({});
    });
  });

  it('leaves no file or chunk and keeps the previous answer when the client disconnects mid-upload', async () => {
    const sessionId = await alice.newSession(['q1']);
    const first = wavTone(0.3, 610);
    expect((await alice.upload(sessionId, 'q1', first)).status).toBe(202);
    const before = await alice.waitForAnswer(sessionId, 'q1');
    await waitForEmptyGridfs();

    const cut = await rawRequest(`${app.url}/api/upload-answer/${sessionId}/q1`, {
      headers: { authorization: `Bearer ${tokenFor('alice')}`, 'content-type': 'multipart/form-data; boundary=AbC' },
      write: async (req) => {
        await writeAll(
          req,
          partHeader('AbC', { name: 'audio', filename: 'a.wav', contentType: 'audio/wav', data: '' }),
        );
        await writeAll(req, streamingWav(160 * 1024, 8 * 1024));
        // the server has stored part of it when the client goes away
        const deadline = Date.now() + 20_000;
        while ((await gridfsCounts(db.db)).chunks < 5 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        expect((await gridfsCounts(db.db)).chunks).toBeGreaterThanOrEqual(5);
        return 'abort';
      },
    }).catch((error: Error) => ({ status: -1, body: `${error.message}\n${app.logs.slice(-15).join('\n')}` }));
    expect(cut.status, String(cut.body)).toBe(0);
    await waitForEmptyGridfs();
    expect(await alice.answerStatus(sessionId, 'q1')).toMatchObject({ status: 200, body: before });
  });

  it('answers 409 once the session has been analyzed', async () => {
    const sessionId = await alice.newSession(['q1']);
    await sessions().updateOne({ _id: new ObjectId(sessionId) }, { $set: { status: 'analyzed' } });
    const res = await alice.upload(sessionId, 'q1', wavTone(0.1));
    expect(res.status).toBe(409);
    expect(res.body.message).toBe('This session has already been analyzed; its answers can no longer be changed.');
    await waitForEmptyGridfs();
  });
});
