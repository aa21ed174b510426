import { GridFSBucket, ObjectId, type Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { AppProcess } from '../support/app-process.js';
import { openTestDatabase } from '../support/database.js';
import { useE2eApp } from '../support/e2e.js';
import { cleanupOutput, runCleanup } from '../support/cleanup-command.js';
import { seedSession } from '../support/factories.js';

const HOUR = 3_600_000;
const CHUNK = 255 * 1024;

// a database without a provider or main server: the tests seed it and run the cleanup on it
const { db, startApp } = useE2eApp('cleanup', { provider: false, server: false });

/** Stores a GridFS file of `bytes` with the metadata an upload would give it, `ageHours` old. */
async function storeFile(
  target: Db,
  bytes: number,
  ageHours: number,
  meta: { session_id?: string; question_id?: string } = {},
) {
  const bucket = new GridFSBucket(target);
  const upload = bucket.openUploadStream('answer.webm', {
    metadata: { ...meta, session_id: meta.session_id ? new ObjectId(meta.session_id) : undefined, status: 'queued' },
  });
  await new Promise<void>((done, fail) =>
    upload.end(Buffer.alloc(bytes, 7), (e?: Error | null) => (e ? fail(e) : done())),
  );
  await target
    .collection('fs.files')
    .updateOne({ _id: upload.id }, { $set: { uploadDate: new Date(Date.now() - ageHours * HOUR) } });
  return upload.id;
}

async function orphanChunks(target: Db, ageHours: number, count: number) {
  const filesId = ObjectId.createFromTime(Math.floor((Date.now() - ageHours * HOUR) / 1000));
  await target
    .collection('fs.chunks')
    .insertMany(Array.from({ length: count }, (_, n) => ({ files_id: filesId, n, data: Buffer.alloc(1000, n) })));
  return filesId;
}

const exists = async (target: Db, id: ObjectId) => ({
  file: (await target.collection('fs.files').countDocuments({ _id: id })) === 1,
  chunks: await target.collection('fs.chunks').countDocuments({ files_id: id }),
});

describe('audio cleanup', () => {
  it('deletes exactly the audio nothing needs any more, once, even when two runs start together', async () => {
    const sessionId = await seedSession(db.db, {
      userId: 'alice',
      questions: ['needed', 'leftover', 'crashed', 'failedOld', 'failedFresh'].map((id) => ({
        question_id: id,
        text: id,
      })),
    });
    const on = (question_id: string) => ({ session_id: sessionId, question_id });
    const needed = await storeFile(db.db, 2 * CHUNK + 10, 48, on('needed'));
    const leftover = await storeFile(db.db, CHUNK + 1, 48, on('leftover')); // completed answer, pointer cleared
    const crashed = await storeFile(db.db, CHUNK + 2, 48, on('crashed')); // completed answer still pointing at it
    const failedOld = await storeFile(db.db, 3 * CHUNK, 48, on('failedOld'));
    const failedFresh = await storeFile(db.db, 1000, 1, on('failedFresh'));
    const freshOrphan = await storeFile(db.db, 1000, 1, { session_id: new ObjectId().toHexString(), question_id: 'x' });
    const oldOrphan = await storeFile(db.db, CHUNK + 3, 30, {
      session_id: new ObjectId().toHexString(),
      question_id: 'x',
    });
    const oldChunks = await orphanChunks(db.db, 30, 4);
    const youngChunks = await orphanChunks(db.db, 0, 2); // an upload still streaming in
    const now = new Date();
    const answer = (status: string, fileId: ObjectId | null) => ({
      id: new ObjectId().toHexString(),
      question_id: '',
      gridfs_file_id: fileId,
      transcription_status: status,
      transcript: status === 'completed' ? 'text' : null,
      transcribed_at: null,
      attempts: 1,
      transcription_error: status === 'failed' ? 'The transcription provider rejected the audio (400): bad' : null,
      created_at: now,
      updated_at: now,
      queued_at: now,
      next_attempt_at: null,
      claim_id: null,
      lease_until: null,
      audio: { format: 'webm', content_type: 'audio/webm', size_bytes: 1 },
    });
    await db.db.collection('interview_sessions').updateOne(
      { _id: new ObjectId(sessionId) },
      {
        $set: {
          'answers.needed': { ...answer('queued', needed), question_id: 'needed' },
          'answers.leftover': { ...answer('completed', null), question_id: 'leftover' },
          'answers.crashed': { ...answer('completed', crashed), question_id: 'crashed' },
          'answers.failedOld': { ...answer('failed', failedOld), question_id: 'failedOld' },
          'answers.failedFresh': { ...answer('failed', failedFresh), question_id: 'failedFresh' },
        },
      },
    );

    // Whether the second run finds the lease held (usual) or starts after the first is done, each
    // thing is deleted once: the two reports add up to exactly the expected deletions.
    const runs = await Promise.all([runCleanup(db.uri), runCleanup(db.uri)]);
    const sum = (field: string) => runs.reduce((total, r) => total + r[field], 0);
    const ran = Object.fromEntries(
      Object.keys(runs[0]).map((k) => [
        k,
        k === 'skipped' ? false : k === 'kept_in_use' ? runs[0].kept_in_use || runs[1].kept_in_use : sum(k),
      ]),
    );
    expect(runs.filter((r) => !r.skipped && r.files_deleted > 0)).toHaveLength(1);
    expect(ran).toEqual({
      skipped: false,
      files_deleted: 4,
      chunks_deleted: 2 + 2 + 3 + 2 + 4,
      bytes_deleted: CHUNK + 1 + CHUNK + 2 + 3 * CHUNK + CHUNK + 3 + 4 * 1000,
      orphan_files: 2,
      orphan_chunk_groups: 1,
      expired_failed_answers: 1,
      kept_in_use: 1,
      erasures_resumed: 0,
      sessions_erased: 0,
      expired_uploads: 0,
      orphan_webhook_deliveries: 0,
      orphan_transcripts_ahead: 0,
    });

    for (const kept of [needed, failedFresh, freshOrphan]) expect((await exists(db.db, kept)).file).toBe(true);
    expect((await exists(db.db, needed)).chunks).toBe(3);
    expect((await exists(db.db, youngChunks)).chunks).toBe(2);
    for (const gone of [leftover, crashed, failedOld, oldOrphan, oldChunks]) {
      expect(await exists(db.db, gone)).toEqual({ file: false, chunks: 0 });
    }
    const doc = await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    expect(doc!.answers.failedOld).toMatchObject({
      transcription_status: 'failed',
      gridfs_file_id: null,
      audio_expired_at: expect.any(Date),
    });
    expect(doc!.answers.crashed).toMatchObject({
      transcription_status: 'completed',
      gridfs_file_id: null,
      transcript: 'text',
    });
    expect(doc!.answers.needed.gridfs_file_id).toEqual(needed);

    expect(await runCleanup(db.uri)).toMatchObject({
      skipped: false,
      files_deleted: 0,
      chunks_deleted: 0,
      kept_in_use: 1,
    });

    // a failed answer whose audio expired can no longer be retried
    const app = await startApp({}, { apiKey: null });
    try {
      const res = await new ApiClient(app.url, tokenFor('alice')).request(
        'POST',
        `/api/transcription-retry/${sessionId}/failedOld`,
      );
      expect(res.status).toBe(410);
    } finally {
      await app.stop();
    }
  });

  it('prints a readable summary without --json', async () => {
    const own = await openTestDatabase('cleanuptext');
    try {
      await storeFile(own.db, 10, 48, { session_id: new ObjectId().toHexString(), question_id: 'q' });
      expect(await cleanupOutput(own.uri, {}, false)).toBe(
        'Deleted 1 files, 1 chunks, 10 bytes (orphan files: 1, orphan chunk groups: 0, expired failed answers: 0; kept in use: 0); ' +
          'sessions erased: 0, erasures resumed: 0, expired resumable uploads: 0, webhook deliveries of gone sessions: 0, transcripts ahead of gone uploads: 0.\n',
      );
    } finally {
      await own.drop();
    }
  });

  it('runs on CLEANUP_CRON inside the server', async () => {
    const own = await openTestDatabase('cleanupcron');
    const orphan = await storeFile(own.db, 1000, 48, { session_id: new ObjectId().toHexString(), question_id: 'q' });
    const app = await AppProcess.start({ mongodbUri: own.uri, apiKey: null, env: { CLEANUP_CRON: '*/1 * * * * *' } });
    try {
      const deadline = Date.now() + 10_000;
      while ((await exists(own.db, orphan)).file && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await exists(own.db, orphan)).toEqual({ file: false, chunks: 0 });
      await app.waitForLog(/audio cleanup: 1 files, 1 chunks, 1000 bytes deleted/, 5_000);
    } finally {
      await app.stop();
      await own.drop();
    }
  });
});
