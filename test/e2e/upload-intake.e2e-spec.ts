import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { wavTone } from '../support/audio.js';
import { useE2eApp } from '../support/e2e.js';
import { partHeader, rawRequest, writeAll } from '../support/raw-http.js';

// one upload at a time, and turns long enough that only the end of an upload ends one
const { app, db, clientFor, startApp } = useE2eApp('upload-intake', {
  env: { UPLOAD_INTAKE_CONCURRENCY: '1', UPLOAD_INTAKE_TURN_MS: '60000' },
});

const BOUNDARY = 'IntakeBoundary';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A multipart upload of `audio` that stops after its first half until `proceed` resolves, so that it
 * holds its turn. `started` resolves once the server has read those bytes (the answer's chunk is in).
 */
function heldUpload(url: string, user: string, sessionId: string, audio: Buffer, proceed: Promise<void>) {
  const half = audio.length >> 1;
  return rawRequest(`${url}/api/upload-answer/${sessionId}/q1`, {
    headers: { authorization: `Bearer ${tokenFor(user)}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    write: async (req) => {
      await writeAll(
        req,
        partHeader(BOUNDARY, { name: 'audio', filename: 'a.wav', contentType: 'audio/wav', data: '' }),
      );
      await writeAll(req, audio.subarray(0, half));
      await proceed;
      await writeAll(req, audio.subarray(half));
      await writeAll(req, `\r\n--${BOUNDARY}--\r\n`);
    },
  });
}

async function answerOf(sessionId: string) {
  const doc = await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
  return (doc?.answers as Record<string, unknown> | undefined)?.q1;
}

describe('upload intake (UPLOAD_INTAKE_CONCURRENCY)', () => {
  it('an upload waits, body unread, while another holds the only turn, and is taken in when that one ends', async () => {
    const alice = clientFor('alice');
    const bob = clientFor('bob');
    const aliceSession = await alice.newSession(['q1']);
    const bobSession = await bob.newSession(['q1']);
    let proceed!: () => void;
    const held = heldUpload(app.url, 'alice', aliceSession, wavTone(2, 11), new Promise((r) => (proceed = r)));
    await sleep(500); // alice's upload has its turn
    const done: string[] = [];
    const waiting = bob.upload(bobSession, 'q1', wavTone(0.5, 12)).then((res) => (done.push('bob'), res));
    await sleep(1_500);
    expect(done).toEqual([]);
    expect(await answerOf(bobSession)).toBeUndefined();
    const metrics = await new ApiClient(app.url).request<string>('GET', '/metrics');
    expect(String(metrics.body).split('\n')).toContain('interview_uploads_waiting 1');

    proceed();
    const first = await held;
    done.push('alice');
    const second = await waiting;
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(done).toEqual(['alice', 'bob']);
    expect(await answerOf(bobSession)).toMatchObject({ transcription_status: expect.any(String) });
  });

  it('a client that gives up while waiting leaves the line: the next upload is taken in, and it left nothing', async () => {
    const alice = clientFor('alice');
    const carol = clientFor('carol');
    const dave = clientFor('dave');
    const [aliceSession, carolSession, daveSession] = [
      await alice.newSession(['q1']),
      await carol.newSession(['q1']),
      await dave.newSession(['q1']),
    ];
    let proceed!: () => void;
    const held = heldUpload(app.url, 'alice', aliceSession, wavTone(2, 21), new Promise((r) => (proceed = r)));
    await sleep(500);
    // carol's upload waits for the turn, then her client closes the connection
    const gaveUp = rawRequest(`${app.url}/api/upload-answer/${carolSession}/q1`, {
      headers: {
        authorization: `Bearer ${tokenFor('carol')}`,
        'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
      },
      write: async (req) => {
        await writeAll(
          req,
          partHeader(BOUNDARY, { name: 'audio', filename: 'a.wav', contentType: 'audio/wav', data: '' }),
        );
        await writeAll(req, wavTone(0.5, 22));
        await sleep(500);
        return 'abort';
      },
    });
    expect((await gaveUp).status).toBe(0);
    await sleep(200);
    const daveUpload = dave.upload(daveSession, 'q1', wavTone(0.5, 23));
    proceed();
    expect((await held).status).toBe(202);
    expect((await daveUpload).status).toBe(202);
    expect(await answerOf(carolSession)).toBeUndefined();
    expect(
      await db.db.collection('fs.files').countDocuments({ 'metadata.session_id': new ObjectId(carolSession) }),
    ).toBe(0);
  });

  it('a turn ends after UPLOAD_INTAKE_TURN_MS: a slow upload still running lets the next one in', async () => {
    const server = await startApp({ UPLOAD_INTAKE_CONCURRENCY: '1', UPLOAD_INTAKE_TURN_MS: '1000' });
    const erin = new ApiClient(server.url, tokenFor('erin'));
    const frank = new ApiClient(server.url, tokenFor('frank'));
    const erinSession = await erin.newSession(['q1']);
    const frankSession = await frank.newSession(['q1']);
    let proceed!: () => void;
    const slow = heldUpload(server.url, 'erin', erinSession, wavTone(2, 31), new Promise((r) => (proceed = r)));
    await sleep(300);
    const startedAt = Date.now();
    const quick = await frank.upload(frankSession, 'q1', wavTone(0.5, 32));
    const waitedMs = Date.now() - startedAt;
    expect(quick.status).toBe(202);
    // it waited for the rest of erin's turn, not for erin's upload, which is still open
    expect(waitedMs).toBeGreaterThan(400);
    expect(waitedMs).toBeLessThan(5_000);
    proceed();
    expect((await slow).status).toBe(202);
  });
});
