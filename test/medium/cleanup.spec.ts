import { ObjectId, type Db } from 'mongodb';
import { Types } from 'mongoose';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AnswerAudioStore } from '../../src/audio/answer-audio.store.js';
import { AudioCleanup } from '../../src/cleanup/audio-cleanup.js';
import { CleanupOnceModule } from '../../src/cleanup/cleanup.module.js';
import { SessionRepository } from '../../src/sessions/session.repository.js';
import { seedSession } from '../support/factories.js';
import { startMedium, type MediumApp } from '../support/medium.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let app: MediumApp;
let cleanup: AudioCleanup;
let store: AnswerAudioStore;

beforeAll(async () => {
  app = await startMedium('cleanup', {
    imports: [CleanupOnceModule],
    env: { AUDIO_RETENTION_HOURS: '24', SESSION_RETENTION_DAYS: '30', HTTP_REQUEST_TIMEOUT_MS: '60000' },
  });
  cleanup = app.get(AudioCleanup);
  store = app.get(AnswerAudioStore);
});
afterAll(() => app?.close());
beforeEach(async () => {
  for (const name of ['interview_sessions', 'fs.files', 'fs.chunks', 'resumable_uploads']) {
    await app.db.collection(name).deleteMany({});
  }
});

/** Stores a file as an upload at `uploadedAt` would have (GridFS stamps uploadDate with the real time). */
async function storedFile(db: Db, uploadedAt: Date, metadata: Record<string, unknown> = {}): Promise<Types.ObjectId> {
  const { fileId } = await store.save(Readable.from([Buffer.alloc(1000, 7)]), 'a.wav', {
    session_id: new Types.ObjectId(),
    question_id: 'q1',
    user_id: 'alice',
    answer_id: 'a',
    content_type: 'audio/wav',
    upload_date: uploadedAt,
    status: 'queued',
    ...metadata,
  } as never);
  await db.collection('fs.files').updateOne({ _id: fileId }, { $set: { uploadDate: uploadedAt } });
  return fileId;
}

const fileExists = async (id: Types.ObjectId) =>
  (await app.db.collection('fs.files').countDocuments({ _id: id })) === 1;

describe('the audio cleanup, with the clock moved instead of waiting', () => {
  it('deletes audio past AUDIO_RETENTION_HOURS that nothing needs, and keeps younger audio', async () => {
    const now = app.clock.now();
    const old = await storedFile(app.db, new Date(now.getTime() - 25 * HOUR));
    const young = await storedFile(app.db, new Date(now.getTime() - 23 * HOUR));
    const report = await cleanup.run(now);
    expect(report).toMatchObject({ skipped: false, files_deleted: 1, orphan_files: 1, bytes_deleted: 1000 });
    expect(await fileExists(old)).toBe(false);
    expect(await fileExists(young)).toBe(true);
    expect(await app.db.collection('fs.chunks').countDocuments({ files_id: old })).toBe(0);

    // a day later the younger file is past retention too
    const later = await cleanup.run(app.clock.advance(DAY));
    expect(later).toMatchObject({ files_deleted: 1, orphan_files: 1 });
    expect(await fileExists(young)).toBe(false);
  });

  it("keeps old audio a queued answer still needs, and expires a failed answer's audio", async () => {
    const now = app.clock.now();
    const queuedFile = new ObjectId();
    const failedFile = new ObjectId();
    const sessionId = await seedSession(app.db, {
      userId: 'alice',
      questions: [
        { question_id: 'q1', text: 'one' },
        { question_id: 'q2', text: 'two' },
      ],
      answers: {
        q1: { status: 'queued', fileId: queuedFile },
        q2: { status: 'failed', fileId: failedFile, error: 'x' },
      },
    });
    const session = new Types.ObjectId(sessionId);
    const uploadedAt = new Date(now.getTime() - 48 * HOUR);
    const q1File = await storedFile(app.db, uploadedAt, { session_id: session, question_id: 'q1' });
    const q2File = await storedFile(app.db, uploadedAt, { session_id: session, question_id: 'q2' });
    await app.db
      .collection('interview_sessions')
      .updateOne(
        { _id: session },
        { $set: { 'answers.q1.gridfs_file_id': q1File, 'answers.q2.gridfs_file_id': q2File } },
      );
    const report = await cleanup.run(now);
    expect(report).toMatchObject({ kept_in_use: 1, expired_failed_answers: 1, files_deleted: 1 });
    expect(await fileExists(q1File)).toBe(true);
    expect(await fileExists(q2File)).toBe(false);
    const doc = (await app.db.collection('interview_sessions').findOne({ _id: session }))!;
    expect(doc.answers.q2).toMatchObject({ gridfs_file_id: null, audio_expired_at: now });
    expect(doc.answers.q1.gridfs_file_id).toEqual(q1File);
  });

  it('removes chunks left without a files document once no upload can still be writing them', async () => {
    const now = app.clock.now();
    const orphan = ObjectId.createFromTime(Math.floor((now.getTime() - 2 * 60_000) / 1000));
    const live = ObjectId.createFromTime(Math.floor((now.getTime() - 10_000) / 1000));
    for (const id of [orphan, live]) {
      await app.db.collection('fs.chunks').insertOne({ files_id: id, n: 0, data: Buffer.alloc(500) });
    }
    const report = await cleanup.run(now);
    expect(report).toMatchObject({ orphan_chunk_groups: 1, chunks_deleted: 1, bytes_deleted: 500 });
    expect(await app.db.collection('fs.chunks').countDocuments({ files_id: orphan })).toBe(0);
    expect(await app.db.collection('fs.chunks').countDocuments({ files_id: live })).toBe(1);
  });
});

describe('session retention', () => {
  it('erases sessions older than SESSION_RETENTION_DAYS with their audio, keeps younger ones, finishes interrupted erasures', async () => {
    const sessions = app.get(SessionRepository);
    const now = app.clock.now();
    const create = (ageMs: number) =>
      sessions.create(
        'alice',
        {
          title: '',
          questions: [{ question_id: 'q1', text: 'Q', model_answer: '' }],
          webhookUrl: null,
          language: null,
        },
        new Date(now.getTime() - ageMs),
      );
    const old = await create(31 * DAY);
    const young = await create(29 * DAY);
    const interrupted = await create(DAY);
    await sessions.markErasing(interrupted._id, 'alice', now);
    const oldAudio = await storedFile(app.db, now, { session_id: old._id });

    const report = await cleanup.run(now);
    expect(report).toMatchObject({ sessions_erased: 1, erasures_resumed: 1 });
    const left = await app.db
      .collection('interview_sessions')
      .find({}, { projection: { _id: 1 } })
      .toArray();
    expect(left.map((s) => String(s._id))).toEqual([String(young._id)]);
    expect(await fileExists(oldAudio)).toBe(false);

    const month = await cleanup.run(app.clock.advance(2 * DAY));
    expect(month.sessions_erased).toBe(1);
    expect(await app.db.collection('interview_sessions').countDocuments()).toBe(0);
  });

  it("erases an expired session's unfinished tus uploads with their chunks, and keeps another session's", async () => {
    const now = app.clock.now();
    const old = new ObjectId(
      await seedSession(app.db, { userId: 'alice', questions: [{ question_id: 'q1', text: 'Q' }] }),
    );
    const live = new ObjectId(
      await seedSession(app.db, { userId: 'alice', questions: [{ question_id: 'q1', text: 'Q' }] }),
    );
    await app.db
      .collection('interview_sessions')
      .updateOne({ _id: old }, { $set: { created_at: new Date(now.getTime() - 31 * DAY) } });
    const upload = (session: ObjectId) => ({
      _id: new ObjectId(),
      user_id: 'alice',
      session_id: session,
      question_id: 'q1',
      size: 100_000,
      offset: 1000,
      next_n: 2,
      chunk_size: 500,
      tail: Buffer.alloc(0),
      metadata: {},
      format: null,
      created_at: now,
      expires_at: new Date(now.getTime() + DAY),
      complete: false,
      sha256: null,
      answer_id: null,
      // a PATCH is writing it: an erasure removes it all the same
      lease_owner: 'a-writer',
      lease_until: new Date(now.getTime() + 60_000),
    });
    const [gone, kept] = [upload(old), upload(live)];
    await app.db.collection('resumable_uploads').insertMany([gone, kept]);
    for (const { _id } of [gone, kept]) {
      await app.db
        .collection('fs.chunks')
        .insertMany([0, 1].map((n) => ({ files_id: _id, n, data: Buffer.alloc(500) })));
    }

    const report = await cleanup.run(now);
    expect(report).toMatchObject({ sessions_erased: 1, chunks_deleted: 2 });
    expect(await app.db.collection('resumable_uploads').find().toArray()).toEqual([
      expect.objectContaining({ _id: kept._id }),
    ]);
    expect(await app.db.collection('fs.chunks').countDocuments({ files_id: gone._id })).toBe(0);
    expect(await app.db.collection('fs.chunks').countDocuments({ files_id: kept._id })).toBe(2);
  });

  it('deletes webhook deliveries a relay left for a session erased meanwhile, and keeps those of live sessions', async () => {
    const deliveries = app.db.collection('webhook_deliveries');
    await deliveries.deleteMany({});
    const live = new ObjectId(
      await seedSession(app.db, { userId: 'alice', questions: [{ question_id: 'q1', text: 'Q' }] }),
    );
    const erased = new ObjectId(); // its document is gone: the relay died before it could undo its store
    const row = (id: string, session: ObjectId) => ({
      _id: id as never,
      session_id: session,
      event: 'transcription.completed',
      url: 'https://example.com/hook',
      body: '{}',
      status: 'pending',
      next_attempt_at: new Date(Date.now() + HOUR),
      created_at: new Date(),
      attempts: [],
      claim_id: null,
      lease_until: null,
      delivered_at: null,
    });
    await deliveries.insertMany([row('gone-1', erased), row('gone-2', erased), row('kept', live)]);

    const report = await cleanup.run(app.clock.now());
    expect(report.orphan_webhook_deliveries).toBe(2);
    const left = await deliveries.find({}, { projection: { _id: 1 } }).toArray();
    expect(left.map((d) => d._id)).toEqual(['kept']);
  });

  it('deletes what was transcribed ahead of an upload once the upload and its audio are both gone', async () => {
    const ahead = app.db.collection('transcripts_ahead');
    await ahead.deleteMany({});
    const uploading = new ObjectId();
    await app.db.collection('resumable_uploads').insertOne({
      _id: uploading,
      complete: false,
      expires_at: new Date(app.clock.now().getTime() + DAY),
    });
    const transcribing = new Types.ObjectId(); // completed: its file is the answer's audio, being transcribed
    await app.db.collection('fs.files').insertOne({
      _id: transcribing,
      length: 1,
      chunkSize: 1,
      uploadDate: app.clock.now(),
      filename: 'a.webm',
      metadata: {},
    });
    const gone = new ObjectId();
    const row = (id: ObjectId) => ({
      _id: id,
      session_id: new ObjectId(),
      question_id: 'q1',
      pieces: [
        { start_seconds: 0, end_seconds: 20, done: true, text: 'said while uploading', language: null, segments: null },
      ],
      working: null,
      looked_at_bytes: 80_000,
      looked_at_seconds: 20,
      stopped: false,
      holder: null,
      held_until: null,
    });
    await ahead.insertMany([row(uploading), row(transcribing), row(gone)]);

    const report = await cleanup.run(app.clock.now());
    expect(report.orphan_transcripts_ahead).toBe(1);
    const left = await ahead.find({}, { projection: { _id: 1 }, sort: { _id: 1 } }).toArray();
    expect(left.map((d) => String(d._id)).sort()).toEqual([String(uploading), String(transcribing)].sort());
    await app.db.collection('resumable_uploads').deleteOne({ _id: uploading });
    await app.db.collection('fs.files').deleteOne({ _id: transcribing });
  });
});
