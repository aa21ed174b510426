import { ObjectId } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { speechAroundSilenceWebm, speechLikeWav, speechLikeWebm } from '../support/audio.js';
import { eventually } from '../support/database.js';
import { ApiClient, tokenFor } from '../support/api.js';
import { useE2eApp } from '../support/e2e.js';
import { expectedTranscript, type TranscriptionRequest } from '../support/fake-openai.js';
import { TusClient } from '../support/tus.js';

/*
 * A recording streamed while it is made (tus, deferred length) is transcribed while it grows: each
 * part that ends at a pause goes to the provider as a piece once TRANSCRIPTION_AHEAD_SECONDS of it
 * are in, and when the last byte arrives only the rest is sent. Every second of audio is paid for
 * once, the pieces join as a large recording's do, and nothing is kept of an upload discarded.
 */

const AHEAD_SECONDS = 8;
const SECONDS = 60;
const ENV = {
  TRANSCRIPTION_AHEAD_SECONDS: String(AHEAD_SECONDS),
  // whisper-style: timed segments, joined from the pieces
  TRANSCRIPTION_MODEL: 'whisper-1',
  TRANSCRIPTION_LEASE_MS: '4000',
  RESUMABLE_UPLOAD_LEASE_MS: '1500',
};

const { db, fake, clientFor, startApp } = useE2eApp('ahead', {
  provider: { probeAudio: true },
  env: ENV,
  server: { stopWith: 'SIGKILL' },
});
const alice = clientFor('alice');

let recording: Buffer;
beforeAll(async () => {
  recording = await speechLikeWebm(SECONDS);
}, 60_000);

const ahead = (id: string) =>
  db.db
    .collection<{
      _id: ObjectId;
      pieces: { start_seconds: number; end_seconds: number; done: boolean }[];
      working: unknown;
      stopped: boolean;
    }>('transcripts_ahead')
    .findOne({ _id: new ObjectId(id) });
const sessionDoc = (id: string) => db.db.collection('interview_sessions').findOne({ _id: new ObjectId(id) });

/** The recording's bytes in PATCHes of about `seconds` each, as a recorder uploading while it records sends them. */
function slices(bytes: Buffer, seconds: number, recordingSeconds = SECONDS): Buffer[] {
  const size = Math.ceil((bytes.length / recordingSeconds) * seconds);
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

/** Sends slices from `from` on, waiting `pauseMs` after each (the recorder's pace, sped up). */
async function send(tus: TusClient, id: string, parts: Buffer[], from: number, offset: number, pauseMs: number) {
  for (const part of parts.slice(from)) {
    const res = await tus.patch(id, offset, part);
    expect(res.status).toBe(204);
    offset += part.length;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  return offset;
}

/** The provider's requests for a question, by piece, each piece index once. */
function byPiece(questionId: string): TranscriptionRequest[] {
  const requests = fake.requestsFor(questionId);
  return [...requests].sort((a, b) => a.piece! - b.piece!);
}

/** Seconds the provider was sent for `questionId`, in all. */
const paidSeconds = (questionId: string) =>
  fake.requestsFor(questionId).reduce((sum, r) => sum + (r.durationSeconds ?? 0), 0);

describe('transcribing a growing upload', () => {
  it(
    'sends the parts that end at a pause while the upload grows, and only the rest after its last byte',
    { timeout: 120_000 },
    async () => {
      const tus = new TusClient(alice);
      const sessionId = await alice.newSession(['q1']);
      const id = await tus.startDeferred(sessionId, 'q1');
      const parts = slices(recording, 2);
      const offset = await send(tus, id, parts.slice(0, -1), 0, 0, 150);

      // pieces were transcribed before the last byte: they cover the audio up to about AHEAD_SECONDS before its end
      await eventually(async () => {
        const doc = await ahead(id);
        expect(doc?.pieces.at(-1)?.end_seconds ?? 0).toBeGreaterThan(SECONDS - 2 * AHEAD_SECONDS - 4);
        expect(doc!.working).toBeNull();
      }, 60_000);
      const before = fake.requestsFor('q1').length;
      expect(before).toBeGreaterThanOrEqual(3);
      const doc = (await ahead(id))!;
      expect(doc.pieces.map((p) => p.done)).toEqual(doc.pieces.map(() => true));
      // back to back from 0 s, each ending in a pause, none longer than twice AHEAD_SECONDS unless it found no pause
      expect(doc.pieces[0].start_seconds).toBe(0);
      for (let i = 1; i < doc.pieces.length; i++)
        expect(doc.pieces[i].start_seconds).toBe(doc.pieces[i - 1].end_seconds);
      // nothing is the answer yet
      expect((await sessionDoc(sessionId))!.answers?.q1).toBeUndefined();

      const last = parts.at(-1)!;
      const done = await tus.patch(id, offset, last, recording.length);
      expect(done.status).toBe(202);
      const answer = await alice.waitForAnswer(sessionId, 'q1');
      expect(answer.status).toBe('completed');

      // each piece once, back to back: the seconds paid for are the recording's
      const requests = byPiece('q1');
      expect(requests.map((r) => r.piece)).toEqual(requests.map((_, i) => i));
      expect(requests.length - before).toBeGreaterThanOrEqual(1);
      expect(requests.length - before).toBeLessThanOrEqual(2);
      expect(Math.abs(paidSeconds('q1') - SECONDS)).toBeLessThan(1);
      // joined as a large recording's pieces are: in order, segment times from the recording's start
      const stored = (await sessionDoc(sessionId))!.answers.q1;
      expect(stored.transcript).toBe(requests.map((r) => expectedTranscript(r.sha256)).join(' '));
      const starts = stored.segments.map((s: { start: number }) => s.start);
      expect(starts).toEqual([...starts].sort((a: number, b: number) => a - b));
      expect(stored.segments.at(-1).end).toBeGreaterThan(SECONDS - 2);
      // the whole recording's speech was measured, and the audio and the pieces are gone
      expect(stored.speech.duration_seconds).toBeCloseTo(SECONDS, 0);
      expect(stored.pieces).toBeNull();
      expect(stored.gridfs_file_id).toBeNull();
      expect(await ahead(id)).toBeNull();
      expect(await db.db.collection('fs.chunks').countDocuments({ files_id: new ObjectId(id) })).toBe(0);
    },
  );

  it(
    'waits for the piece still with the provider when the last byte comes, instead of paying for it again',
    { timeout: 120_000 },
    async () => {
      const tus = new TusClient(alice);
      const sessionId = await alice.newSession(['q2']);
      const id = await tus.startDeferred(sessionId, 'q2');
      const parts = slices(recording, 2);
      // the first piece is slow: the upload completes while it is being transcribed
      fake.script('q2', { kind: 'ok', delayMs: 4_000 });
      const offset = await send(tus, id, parts.slice(0, 8), 0, 0, 100);
      await eventually(async () => expect((await ahead(id))?.working).not.toBeNull(), 30_000);
      const rest = Buffer.concat(parts.slice(8));
      const done = await tus.patch(id, offset, rest, recording.length);
      expect(done.status).toBe(202);
      const answer = await alice.waitForAnswer(sessionId, 'q2');
      expect(answer.status).toBe('completed');
      const requests = byPiece('q2');
      expect(requests.map((r) => r.piece)).toEqual(requests.map((_, i) => i));
      expect(Math.abs(paidSeconds('q2') - SECONDS)).toBeLessThan(1);
    },
  );

  it(
    'keeps nothing of an upload discarded (tus termination) while it was transcribed ahead',
    { timeout: 120_000 },
    async () => {
      const tus = new TusClient(alice);
      const sessionId = await alice.newSession(['q3']);
      const id = await tus.startDeferred(sessionId, 'q3');
      const parts = slices(recording, 2);
      await send(tus, id, parts.slice(0, 15), 0, 0, 100);
      await eventually(async () => expect((await ahead(id))?.pieces.length).toBeGreaterThanOrEqual(1), 30_000);
      expect((await tus.terminate(id)).status).toBe(204);
      await eventually(async () => expect(await ahead(id)).toBeNull());
      // a piece already with the provider when the upload went is answered or cut off, not sent again; the
      // fake records a request only once it has read and probed all of it, so that one is settled first
      await eventually(async () => expect(fake.inFlight).toBe(0), 30_000);
      const sent = fake.requestsFor('q3').length;
      await new Promise((r) => setTimeout(r, 1_000));
      expect(fake.requestsFor('q3').length).toBe(sent);
      expect(fake.inFlight).toBe(0);
      expect(await db.db.collection('fs.chunks').countDocuments({ files_id: new ObjectId(id) })).toBe(0);
      expect((await sessionDoc(sessionId))!.answers?.q3).toBeUndefined();
    },
  );

  it('goes on after the server is killed mid-way: no piece is paid for twice', { timeout: 180_000 }, async () => {
    const own = await startApp();
    const first = new TusClient(new ApiClient(own.url, tokenFor('alice')));
    const sessionId = await alice.newSession(['q4']);
    const id = await first.startDeferred(sessionId, 'q4');
    const parts = slices(recording, 2);
    let offset = await send(first, id, parts.slice(0, 14), 0, 0, 100);
    await eventually(async () => {
      const doc = await ahead(id);
      expect(doc?.pieces.length).toBeGreaterThanOrEqual(2);
      expect(doc!.working).toBeNull();
      expect(fake.inFlight).toBe(0);
    }, 30_000);
    const paidBefore = fake.requestsFor('q4').length;
    await own.stop('SIGKILL');

    // the rest goes to the other instance, which takes the upload (and what was transcribed of it) over
    const tus = new TusClient(alice);
    await eventually(async () => expect(await tus.offset(id)).toBe(offset), 30_000);
    offset = await send(tus, id, parts.slice(0, -1), 14, offset, 100);
    const done = await tus.patch(id, offset, parts.at(-1)!, recording.length);
    expect(done.status).toBe(202);
    const answer = await alice.waitForAnswer(sessionId, 'q4', ['completed', 'failed'], 60_000);
    expect(answer.status).toBe('completed');
    const requests = byPiece('q4');
    expect(requests.length).toBeGreaterThan(paidBefore);
    expect(requests.map((r) => r.piece)).toEqual(requests.map((_, i) => i));
    expect(Math.abs(paidSeconds('q4') - SECONDS)).toBeLessThan(1);
  });

  it(
    'keeps a silent piece without a provider call, and sends it when TRANSCRIPTION_SPEECH_GUARD is off',
    { timeout: 180_000 },
    async () => {
      // 12 s of speech, 30 s of silence, 12 s of speech: the looks cut inside the silence
      const quiet = await speechAroundSilenceWebm(12, 30);
      const total = 54;
      const stream = async (client: ApiClient, questionId: string) => {
        const tus = new TusClient(client);
        const sessionId = await client.newSession([questionId]);
        const id = await tus.startDeferred(sessionId, questionId);
        const parts = slices(quiet, 2, total);
        const offset = await send(tus, id, parts.slice(0, -1), 0, 0, 150);
        // the work ahead has reached the second stretch of speech before the last byte
        await eventually(async () => {
          const doc = await ahead(id);
          expect(doc?.pieces.at(-1)?.end_seconds ?? 0).toBeGreaterThan(total - 2 * AHEAD_SECONDS - 4);
          expect(doc!.working).toBeNull();
        }, 60_000);
        const pieces = (await ahead(id))!.pieces;
        expect((await tus.patch(id, offset, parts.at(-1)!, quiet.length)).status).toBe(202);
        expect((await client.waitForAnswer(sessionId, questionId)).status).toBe('completed');
        return pieces;
      };
      const silentOf = (pieces: { start_seconds: number; end_seconds: number }[]) =>
        pieces.filter((p) => p.start_seconds >= 12.5 && p.end_seconds <= 41.5);

      // guard on (the default): the pieces wholly inside the silence are kept empty, never sent
      const guarded = await stream(alice, 'guarded');
      expect(silentOf(guarded).length).toBeGreaterThanOrEqual(1);
      const silentSeconds = silentOf(guarded).reduce((sum, p) => sum + p.end_seconds - p.start_seconds, 0);
      expect(paidSeconds('guarded')).toBeLessThan(total - silentSeconds + 1);
      const sentPieces = fake.requestsFor('guarded').map((r) => r.piece);
      expect(new Set(sentPieces).size).toBe(sentPieces.length); // none twice

      // guard off: every second goes to the provider, the silent pieces too, each once
      const own = await startApp({ TRANSCRIPTION_SPEECH_GUARD: 'false' });
      try {
        const carol = new ApiClient(own.url, tokenFor('carol'));
        const unguarded = await stream(carol, 'unguarded');
        expect(silentOf(unguarded).length).toBeGreaterThanOrEqual(1);
        const requests = byPiece('unguarded');
        expect(requests.map((r) => r.piece)).toEqual(requests.map((_, i) => i));
        expect(Math.abs(paidSeconds('unguarded') - total)).toBeLessThan(1);
      } finally {
        await own.stop('SIGKILL');
      }
    },
  );

  it(
    'leaves alone an upload of known length and a recording too dense to read again at each look',
    { timeout: 120_000 },
    async () => {
      const tus = new TusClient(alice);
      const sessionId = await alice.newSession(['known', 'dense']);
      // a finished file uploaded through tus in pieces: transcribed once it is in, whole
      const known = await tus.start(sessionId, 'known', recording.length);
      const parts = slices(recording, 5);
      let offset = 0;
      for (const [i, part] of parts.entries()) {
        const res = await tus.patch(known, offset, part);
        expect(res.status).toBe(i === parts.length - 1 ? 202 : 204);
        offset += part.length;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await ahead(known)).toBeNull();
      expect((await alice.waitForAnswer(sessionId, 'known')).status).toBe('completed');
      expect(fake.requestsFor('known').map((r) => r.piece)).toEqual([undefined]);

      // 44.1 kHz stereo PCM (1.4 Mbit/s) streamed: looked at once, then no more
      const wav = Buffer.concat(await speechLikeWav(40).toArray());
      const dense = await tus.startDeferred(sessionId, 'dense');
      const chunk = Math.ceil(wav.length / 20);
      offset = 0;
      while (offset + chunk < wav.length) {
        expect((await tus.patch(dense, offset, wav.subarray(offset, offset + chunk))).status).toBe(204);
        offset += chunk;
        await new Promise((r) => setTimeout(r, 100));
      }
      await eventually(async () => expect((await ahead(dense))?.stopped).toBe(true), 30_000);
      expect((await ahead(dense))!.pieces).toEqual([]);
      expect((await tus.patch(dense, offset, wav.subarray(offset), wav.length)).status).toBe(202);
      expect((await alice.waitForAnswer(sessionId, 'dense')).status).toBe('completed');
      expect(fake.requestsFor('dense').map((r) => r.piece)).toEqual([undefined]);
    },
  );
});
