import { ObjectId } from 'mongodb';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { speechLikeWav, speechLikeWavBytes, wavTone } from '../support/audio.js';
import { useE2eApp } from '../support/e2e.js';
import { OPENAI_MAX_FILE_BYTES, expectedTranscript, sha256Of } from '../support/fake-openai.js';
import { multipartRequest } from '../support/raw-http.js';
import { EventStreamClient } from '../support/sse.js';

const WORK_DIR_PREFIX = 'voice-interview-transcribe-';

/** The app's own temp directory (TMPDIR), so that its leftovers can be counted exactly. */
let appTmp: string;
// made before the fixture's server, which runs in it, and removed after the fixture's teardown
beforeAll(() => {
  appTmp = mkdtempSync(join(tmpdir(), 'long-recordings-app-'));
  // leftovers of a crashed earlier run: a dead process's directory goes, a live one's stays
  mkdirSync(join(appTmp, `${WORK_DIR_PREFIX}999999999-crashed`));
  mkdirSync(join(appTmp, `${WORK_DIR_PREFIX}${process.pid}-alive`));
});
afterAll(() => {
  if (appTmp) rmSync(appTmp, { recursive: true, force: true });
});
const { db, fake, app, clientFor } = useE2eApp('long', {
  provider: { probeAudio: true },
  env: () => ({
    TMPDIR: appTmp,
    // whisper-style: the pieces' timed segments are joined
    TRANSCRIPTION_MODEL: 'whisper-1',
    TRANSCRIPTION_MAX_ATTEMPTS: '3',
    TRANSCRIPTION_TIMEOUT_MS: '60000',
    TRANSCRIPTION_LEASE_MS: '10000',
  }),
});
const alice = clientFor('alice');
// registered after the fixture's hooks, so this runs before its server stops
afterAll(() => {
  if (app.proc && app.proc.exitCode !== null) {
    console.log(`the server exited early (${app.proc.exitCode}):\n${app.logs.slice(-30).join('\n')}`);
  }
});

const sessionDoc = (id: string) => db.db.collection('interview_sessions').findOne({ _id: new ObjectId(id) });
const workDirs = (dir: string) => readdirSync(dir).filter((name) => name.startsWith(WORK_DIR_PREFIX));

function uploadWav(api: ApiClient, sessionId: string, questionId: string, seconds: number) {
  return multipartRequest(`${api.baseUrl}/api/upload-answer/${sessionId}/${questionId}`, api.token!, [
    { name: 'audio', filename: 'answer.wav', contentType: 'audio/wav', data: speechLikeWav(seconds) },
  ]);
}

describe('a 30-minute recording', () => {
  it(
    'is compressed, split at pauses into pieces under 25 MB, transcribed in parallel and joined in order',
    { timeout: 240_000 },
    async () => {
      const seconds = 30 * 60;
      const sessionId = await alice.newSession(['long']);
      const events = await EventStreamClient.open(`${app.url}/api/sessions/${sessionId}/events`, alice.token);

      const rssBefore = app.memory().rss;
      const uploadStarted = Date.now();
      const upload = await uploadWav(alice, sessionId, 'long', seconds);
      const uploadMs = Date.now() - uploadStarted;
      const peakAfterUpload = app.memory().peak;
      expect(upload.status).toBe(202);
      const done = await alice.waitForAnswer(sessionId, 'long', ['completed', 'failed'], 200_000);
      const transcribeMs = Date.now() - uploadStarted - uploadMs;
      const peakRss = app.memory().peak; // the kernel's high-water mark: no sample can miss the peak
      // the stream may report the completion a moment after the status endpoint does
      await events.waitFor(
        () => events.named('answer').some((a) => a.question_id === 'long' && a.status === done.status),
        10_000,
        'the completed answer on the event stream',
      );
      await events.close();

      const pieces = fake.requestsFor('long').sort((a, b) => a.piece! - b.piece!);
      const updates = events.named('answer').filter((a) => a.question_id === 'long');
      const progress: number[] = updates.filter((a) => a.status === 'processing').map((a) => a.progress);
      console.log(
        `30-minute WAV: ${speechLikeWavBytes(seconds)} bytes uploaded in ${(uploadMs / 1000).toFixed(1)} s, ` +
          `transcribed in ${(transcribeMs / 1000).toFixed(1)} s as ${pieces.length} pieces ` +
          `(${pieces.map((p) => `${p.bytes} B/${p.durationSeconds?.toFixed(1)} s`).join(', ')}), ` +
          `server RSS ${(rssBefore / 1024 / 1024).toFixed(0)} MB before, peak ${(peakAfterUpload / 1024 / 1024).toFixed(0)} MB ` +
          `after the upload and ${(peakRss / 1024 / 1024).toFixed(0)} MB after the transcription; ` +
          `progress on SSE: ${progress.join(', ')}`,
      );

      expect(done.status).toBe('completed');
      expect(done.error).toBeUndefined();
      // at most TRANSCRIPTION_PIECE_SECONDS=600 each, aiming at equal lengths: 4 pieces of about 450 s,
      // each sent once, each under the provider's limit
      expect(pieces.map((p) => p.piece)).toEqual([0, 1, 2, 3]);
      for (const piece of pieces) {
        expect(piece.status).toBe(200);
        expect(piece.bytes).toBeLessThan(OPENAI_MAX_FILE_BYTES);
        expect(piece.contentType).toBe('audio/ogg');
        expect(piece.responseFormat).toBe('verbose_json');
        expect(piece.durationSeconds).toBeGreaterThan(389);
        expect(piece.durationSeconds).toBeLessThan(511);
      }
      const total = pieces.reduce((sum, p) => sum + p.durationSeconds!, 0);
      expect(Math.abs(total - seconds)).toBeLessThan(1);
      // the pieces were in flight together (TRANSCRIPTION_PIECE_CONCURRENCY=3)
      expect(fake.maxInFlight).toBeGreaterThanOrEqual(2);

      // the transcript joins the pieces in order; segment times count from the recording's start
      expect(done.transcript).toBe(pieces.map((p) => expectedTranscript(p.sha256)).join(' '));
      expect(done.language).toBe('english');
      expect(Math.abs(done.duration_seconds - seconds)).toBeLessThan(1);
      const full = await alice.request('GET', `/api/sessions/${sessionId}`);
      const segments: { start: number; end: number; text: string }[] = full.body.answers.long.segments;
      expect(segments.length).toBe(pieces.reduce((n, p) => n + Math.ceil(p.durationSeconds! / 30), 0));
      let offset = 0;
      for (const piece of pieces) {
        const first = segments.find((s) => s.text === `${expectedTranscript(piece.sha256)} [0]`)!;
        expect(Math.abs(first.start - offset)).toBeLessThan(0.1 * (piece.piece! + 1));
        offset += piece.durationSeconds!;
      }
      for (let i = 1; i < segments.length; i++) expect(segments[i].start).toBeGreaterThanOrEqual(segments[i - 1].start);
      expect(Math.abs(segments.at(-1)!.end - seconds)).toBeLessThan(1);

      // progress rose monotonically while processing, then the answer completed
      expect(progress[0]).toBe(0);
      expect(progress.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThanOrEqual(progress[i - 1]);
      expect(progress.every((p) => [0, 25, 50, 75, 100].includes(p))).toBe(true);
      expect(updates.at(-1)).toMatchObject({ status: 'completed', transcript: done.transcript });

      // the database holds the result, not the pieces; the audio and the temp files are gone
      const doc = await sessionDoc(sessionId);
      expect(doc!.answers.long).toMatchObject({
        transcription_status: 'completed',
        attempts: 1,
        pieces: null,
        progress: null,
        gridfs_file_id: null,
        language: 'english',
      });
      expect(workDirs(appTmp).filter((d) => !d.startsWith(`${WORK_DIR_PREFIX}${process.pid}-`))).toEqual([]);
      // Streaming keeps the server's growth below the recording's 318 MB: holding the file (or one
      // copy of it) anywhere would cross this line. The high-water mark also counts garbage that V8
      // collects lazily on a loaded machine (measured growth 70-170 MB), hence the margin.
      expect(peakRss - rssBefore).toBeLessThan(256 * 1024 * 1024);
    },
  );
});

describe('start-up', () => {
  it('removed the temp directories of dead processes, kept those of live ones, and found ffmpeg', () => {
    expect(existsSync(join(appTmp, `${WORK_DIR_PREFIX}999999999-crashed`))).toBe(false);
    expect(existsSync(join(appTmp, `${WORK_DIR_PREFIX}${process.pid}-alive`))).toBe(true);
    expect(app.logs.some((line) => /ffmpeg \S+ at ffmpeg, ffprobe at ffprobe/.test(line))).toBe(true);
  });
});

describe('pieces that fail', () => {
  // a database and server of their own, so that the first server never takes these jobs over; a
  // low limit makes a 1-minute recording (10.6 MB) "large": it is cut into pieces of at most 15 s
  const { db: own, clientFor: clientOfOwn } = useE2eApp('long-pieces', {
    provider: fake,
    env: () => ({
      TMPDIR: appTmp,
      // whisper-style: the pieces' timed segments are joined
      TRANSCRIPTION_MODEL: 'whisper-1',
      TRANSCRIPTION_MAX_FILE_BYTES: String(1024 * 1024),
      TRANSCRIPTION_PIECE_SECONDS: '15',
      TRANSCRIPTION_MAX_ATTEMPTS: '3',
      TRANSCRIPTION_PIECE_CONCURRENCY: '2',
      // a loaded machine must not make a lease lapse: this is about pieces, not leases
      TRANSCRIPTION_LEASE_MS: '15000',
    }),
  });
  const api = clientOfOwn('alice');

  it('retries a piece that fails transiently alone, and completes', async () => {
    const sessionId = await api.newSession(['q1']);
    fake.script('q1/part-001', { kind: 'status', status: 503 }, { kind: 'reset' });
    expect((await uploadWav(api, sessionId, 'q1', 60)).status).toBe(202);
    const done = await api.waitForAnswer(sessionId, 'q1', ['completed', 'failed'], 60_000);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(1);

    const sent = fake.requestsFor('q1');
    const perPiece = new Map<number, number>();
    for (const r of sent) perPiece.set(r.piece!, (perPiece.get(r.piece!) ?? 0) + 1);
    const count = Math.max(...perPiece.keys()) + 1;
    expect(count).toBeGreaterThanOrEqual(4);
    // piece 1 three times (503, reset, 200), every other piece once
    expect([...perPiece.entries()].sort((a, b) => a[0] - b[0])).toEqual(
      Array.from({ length: count }, (_, i) => [i, i === 1 ? 3 : 1]),
    );
    const retried = sent.filter((r) => r.piece === 1);
    expect(new Set(retried.map((r) => r.sha256)).size).toBe(1); // the same bytes each time
    for (const r of sent) {
      expect(r.bytes).toBeLessThan(1024 * 1024);
      expect(r.durationSeconds).toBeLessThanOrEqual(15.1);
    }
    const answered = sent.filter((r) => r.status === 200).sort((a, b) => a.piece! - b.piece!);
    expect(done.transcript).toBe(answered.map((r) => expectedTranscript(r.sha256)).join(' '));
  });

  it('fails the answer with a clear error when a piece fails permanently, and keeps the finished pieces', async () => {
    const sessionId = await api.newSession(['q2']);
    fake.script('q2/part-002', {
      kind: 'status',
      status: 400,
      message: 'Audio file might be corrupted or unsupported',
    });
    expect((await uploadWav(api, sessionId, 'q2', 60)).status).toBe(202);
    const failed = await api.waitForAnswer(sessionId, 'q2', ['completed', 'failed'], 60_000);
    expect(failed.status).toBe('failed');
    expect(fake.requestsFor('q2').filter((r) => r.piece === 2)).toHaveLength(1);
    const doc = await own.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    const stored = doc!.answers.q2.pieces as { start_seconds: number; end_seconds: number; done: boolean }[];
    const clock = (t: number) => `${Math.floor(Math.round(t) / 60)}:${String(Math.round(t) % 60).padStart(2, '0')}`;
    expect(failed.error).toBe(
      `Piece 3 of ${stored.length} (${clock(stored[2].start_seconds)}–${clock(stored[2].end_seconds)}) could not be ` +
        'transcribed: The transcription provider rejected the audio (400); check that the recording plays, then upload it again.',
    );
    expect(stored[2]).toMatchObject({ done: false, text: null });
    // the pieces sent before the failure are kept for a retry
    const answered = new Set(
      fake
        .requestsFor('q2')
        .filter((r) => r.status === 200)
        .map((r) => r.piece),
    );
    expect(stored.filter((p) => p.done).length).toBe(answered.size);
    expect(doc!.answers.q2.gridfs_file_id).not.toBeNull(); // the audio too
    await expect.poll(() => workDirs(appTmp).filter((d) => !d.includes(`-${process.pid}-`)).length).toBe(0);
  });
});

describe('without ffmpeg', () => {
  /** FFMPEG_PATH points here; empty until the test "installs" ffmpeg. */
  let bin: string;
  // made before the server below, whose FFMPEG_PATH points into it, and removed after it stopped
  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), 'long-recordings-bin-'));
  });
  afterAll(() => {
    if (bin) rmSync(bin, { recursive: true, force: true });
  });
  const { app: bare, clientFor: clientOfBare } = useE2eApp('long-bare', {
    provider: fake,
    env: () => ({
      TMPDIR: appTmp,
      FFMPEG_PATH: join(bin, 'ffmpeg'),
      TRANSCRIPTION_MAX_FILE_BYTES: String(1024 * 1024),
      // verbose_json, so the transcript's language is known
      TRANSCRIPTION_MODEL: 'whisper-1',
    }),
  });
  const api = clientOfBare('alice');

  it('warns once at start-up, transcribes small recordings, fails large ones saying ffmpeg is needed until it is installed', async () => {
    const warnings = bare.logs.filter((line) => line.includes('cannot be run'));
    // one line for large recordings, one for the speech guard (WAV only without ffmpeg), each once
    const guard = 'only WAV recordings are measured for speech; the others go to the provider unmeasured';
    expect(warnings).toHaveLength(2);
    expect(warnings.filter((line) => line.includes(guard))).toHaveLength(1);
    expect(warnings.find((line) => !line.includes(guard))).toContain(
      `ffmpeg (FFMPEG_PATH=${bin}/ffmpeg) and ffprobe (FFPROBE_PATH=${bin}/ffprobe) cannot be run: ` +
        'recordings over TRANSCRIPTION_MAX_FILE_BYTES will fail to transcribe until ffmpeg is installed',
    );

    const sessionId = await api.newSession(['short', 'long']);
    const audio = wavTone(0.5, 523);
    await api.upload(sessionId, 'short', audio, { contentType: 'audio/wav', filename: 'a.wav' });
    expect((await uploadWav(api, sessionId, 'long', 30)).status).toBe(202); // 5.3 MB > 1 MB
    const short = await api.waitForAnswer(sessionId, 'short');
    expect(short).toMatchObject({ status: 'completed', transcript: expectedTranscript(sha256Of(audio)) });
    // a WAV is decoded in this process: measured for speech without ffmpeg
    expect(short.delivery).toMatchObject({ status: 'measured', measured_by: { name: 'webrtc-vad' } });
    const long = await api.waitForAnswer(sessionId, 'long');
    expect(long).toMatchObject({
      status: 'failed',
      attempts: 1,
      error:
        'This recording is larger than the transcription provider accepts and must be compressed first, which needs ffmpeg; ' +
        'install ffmpeg (or set FFMPEG_PATH), then retry the answer.',
    });
    expect(fake.requestsFor('long')).toHaveLength(0);

    // once ffmpeg is installed, retrying the answer works without a restart
    symlinkSync('/usr/bin/ffmpeg', join(bin, 'ffmpeg'));
    symlinkSync('/usr/bin/ffprobe', join(bin, 'ffprobe'));
    expect((await api.request('POST', `/api/transcription-retry/${sessionId}/long`)).status).toBe(202);
    const retried = await api.waitForAnswer(sessionId, 'long', ['completed', 'failed'], 30_000);
    expect(retried).toMatchObject({ status: 'completed', language: 'english' });
    expect(fake.requestsFor('long').length).toBeGreaterThanOrEqual(1);
    // still the two start-up lines, no more
    expect(bare.logs.filter((line) => line.includes('cannot be run'))).toHaveLength(2);
  });
});

describe('a server killed half way through the pieces', () => {
  // servers of its own, started by the test, on a database of its own
  const { db: own, startApp: start } = useE2eApp('long-resume', {
    provider: fake,
    server: false,
    env: () => ({
      TMPDIR: appTmp,
      // whisper-style: the pieces' timed segments are joined
      TRANSCRIPTION_MODEL: 'whisper-1',
      TRANSCRIPTION_MAX_FILE_BYTES: String(1024 * 1024),
      TRANSCRIPTION_PIECE_SECONDS: '15',
      TRANSCRIPTION_PIECE_CONCURRENCY: '2',
      TRANSCRIPTION_LEASE_MS: '3000',
    }),
  });

  it('leaves the finished pieces in the database, and the next server sends only the missing ones', async () => {
    const first = await start();
    const api = new ApiClient(first.url, tokenFor('alice'));
    const sessionId = await api.newSession(['q3']);
    let release!: () => void;
    fake.script('q3/part-002', { kind: 'hold', until: new Promise<void>((r) => (release = r)) });
    expect((await uploadWav(api, sessionId, 'q3', 60)).status).toBe(202);

    // every piece but the held one is transcribed and stored
    const doc = () => own.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    let pieces: { done: boolean }[] = [];
    await expect
      .poll(
        async () => {
          pieces = (await doc())!.answers.q3.pieces ?? [];
          return pieces.length > 0 && pieces.filter((p) => p.done).length === pieces.length - 1;
        },
        { timeout: 60_000, interval: 100 },
      )
      .toBe(true);
    expect(pieces[2].done).toBe(false);
    const progress = (await doc())!.answers.q3.progress;
    expect(progress).toBe(Math.floor(((pieces.length - 1) * 100) / pieces.length));
    expect(workDirs(appTmp).some((d) => d.startsWith(`${WORK_DIR_PREFIX}${first.pid}-`))).toBe(true);

    await first.kill();
    const second = await start();
    // the dead server's temp directory is swept at start-up
    expect(workDirs(appTmp).some((d) => d.startsWith(`${WORK_DIR_PREFIX}${first.pid}-`))).toBe(false);
    const done = await new ApiClient(second.url, tokenFor('alice')).waitForAnswer(
      sessionId,
      'q3',
      ['completed', 'failed'],
      60_000,
    );
    release(); // only now: the dead server's request must not count as answered
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(2);

    const sent = fake.requestsFor('q3');
    const perPiece = Array.from({ length: pieces.length }, (_, i) => sent.filter((r) => r.piece === i).length);
    // the held piece twice (the dead server's request and the new one), every other piece once
    expect(perPiece).toEqual(pieces.map((_, i) => (i === 2 ? 2 : 1)));
    const answered = sent.filter((r) => r.status === 200).sort((a, b) => a.piece! - b.piece!);
    expect(answered.map((r) => r.piece)).toEqual(pieces.map((_, i) => i));
    expect(done.transcript).toBe(answered.map((r) => expectedTranscript(r.sha256)).join(' '));
  });
});
