import { Upload, type Lock } from '@tus/utils';
import { MongoServerError, ObjectId } from 'mongodb';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerDataModule } from '../../src/answers/answer-data.module.js';
import { AnswerIntake } from '../../src/answers/intake/answer-intake.js';
import { GridFsTusStore } from '../../src/answers/resumable/gridfs-tus.store.js';
import { ResumableUploadsService } from '../../src/answers/resumable/resumable-uploads.service.js';
import { isTusError, tusError } from '../../src/answers/resumable/tus-errors.js';
import { UploadCompletion } from '../../src/answers/resumable/upload-completion.js';
import { UploadLeaseLocker } from '../../src/answers/resumable/upload-lease.locker.js';
import { AnswerAudioStore } from '../../src/audio/answer-audio.store.js';
import { AudioStorageModule } from '../../src/audio/audio-storage.module.js';
import { ResumableUploadDocuments } from '../../src/audio/resumable-upload.documents.js';
import { AudioCleanup } from '../../src/cleanup/audio-cleanup.js';
import { CleanupOnceModule } from '../../src/cleanup/cleanup.module.js';
import { SessionEraser } from '../../src/sessions/session-eraser.js';
import { SessionsModule } from '../../src/sessions/sessions.module.js';
import { wavTone } from '../support/audio.js';
import { seedSession } from '../support/factories.js';
import { startMedium, type MediumApp } from '../support/medium.js';
import { StepInjector } from '../support/step-injector.js';

const CHUNK = 16_384;
const HOUR = 3_600_000;
const EXPIRY_MS = 24 * HOUR;
const LEASE_MS = 15_000;
/** What the first PATCH of each upload sends: past the format sniff, four full chunks and a tail. */
const FIRST = 70_000;

let app: MediumApp;
let cleanup: AudioCleanup;
let documents: ResumableUploadDocuments;
let audioStore: AnswerAudioStore;
let store: GridFsTusStore;
let locker: UploadLeaseLocker;
let injector: StepInjector;

beforeAll(async () => {
  app = await startMedium('cleanupraces', {
    // the tus service and the intake without the HTTP layer (controllers and their guards)
    imports: [CleanupOnceModule, SessionsModule, AnswerDataModule, AudioStorageModule],
    providers: [ResumableUploadsService, UploadCompletion, AnswerIntake],
    env: {
      AUDIO_RETENTION_HOURS: '24',
      HTTP_REQUEST_TIMEOUT_MS: '60000',
      GRIDFS_CHUNK_SIZE_BYTES: String(CHUNK),
      RESUMABLE_UPLOAD_EXPIRY_MS: String(EXPIRY_MS),
      RESUMABLE_UPLOAD_LEASE_MS: String(LEASE_MS),
    },
  });
  cleanup = app.get(AudioCleanup);
  documents = app.get(ResumableUploadDocuments);
  audioStore = app.get(AnswerAudioStore);
  // a second instance's tus store and locker over the same documents, as @tus/server drives them
  locker = new UploadLeaseLocker(documents, app.clock, LEASE_MS);
  const completion = app.get(UploadCompletion);
  store = new GridFsTusStore(documents, locker, completion, app.clock, { chunkSizeBytes: CHUNK, expiryMs: EXPIRY_MS });
  injector = new StepInjector([documents, audioStore]);
});
afterAll(() => app?.close());

const statusOf = (error: unknown) => (isTusError(error) ? error.status_code : 500);

/**
 * One tus PATCH as @tus/server's PatchHandler runs it against the store: take the lock (the
 * upload's lease), read the upload, check the offset, write, let go of the lock. The write that
 * brings the last byte also makes the upload the answer (UploadCompletion, the real intake: the
 * answer points at the file), under the same lease.
 */
class Patch {
  status: number | null = null;
  private lock: Lock | null = null;
  private upload: Upload | null = null;

  constructor(
    readonly id: ObjectId,
    readonly bytes: Buffer,
    readonly offset: number,
  ) {}

  /** Up to the write: a PATCH that has begun (it passed the handler's expiry check) and holds the upload. */
  async begin(): Promise<void> {
    const lock = locker.newLock(this.id.toHexString());
    try {
      await lock.lock(new AbortController().signal, () => undefined);
      this.lock = lock;
      this.upload = await store.getUpload(this.id.toHexString());
      if (this.upload.offset !== this.offset) throw tusError(409, 'not at this offset');
    } catch (error) {
      this.status = statusOf(error);
      await lock.unlock();
      this.lock = null;
    }
  }

  async run(): Promise<number> {
    if (!this.lock && this.status === null) await this.begin();
    if (this.status !== null) return this.status;
    try {
      const offset = await store.write(Readable.from([this.bytes]), this.id.toHexString(), this.offset);
      return (this.status = offset < this.upload!.size! ? 204 : 202);
    } catch (error) {
      return (this.status = statusOf(error));
    } finally {
      await this.lock!.unlock();
    }
  }
}

/** An ObjectId made `ageMs` before the clock's now (ids order chunk groups by age for the cleanup). */
function idAged(ageMs: number): ObjectId {
  const bytes = Buffer.from(new ObjectId().id);
  bytes.writeUInt32BE(Math.floor((app.clock.nowMs() - ageMs) / 1000), 0);
  return new ObjectId(bytes);
}

/** A tus upload created `ageMs` ago, holding its first FIRST bytes (four chunks and a tail). */
async function startedUpload(session: ObjectId, questionId: string, audio: Buffer, ageMs: number) {
  const id = idAged(ageMs);
  await store.create(
    new Upload({
      id: id.toHexString(),
      size: audio.length,
      offset: 0,
      metadata: { session_id: session.toHexString(), question_id: questionId, user_id: 'alice' },
    }),
  );
  const created = new Date(app.clock.nowMs() - ageMs);
  await app.db
    .collection('resumable_uploads')
    .updateOne({ _id: id }, { $set: { created_at: created, expires_at: new Date(created.getTime() + EXPIRY_MS) } });
  expect(await new Patch(id, audio.subarray(0, FIRST), 0).run()).toBe(204);
  return id;
}

interface Scene {
  session: ObjectId;
  audio: Buffer;
  /** The upload whose last PATCH races the cleanup. */
  racing: ObjectId;
  /** Unfinished, not expired, nobody writing: kept whole. */
  live: ObjectId;
  /** Unfinished, expired, nobody writing: removed with its chunks. */
  expired: ObjectId;
  /** Chunks with neither an upload nor a files document: removed. */
  orphan: ObjectId;
  patch: Patch;
}

let tone = 300;
async function scene(racingExpired: boolean): Promise<Scene> {
  for (const name of ['interview_sessions', 'fs.files', 'fs.chunks', 'resumable_uploads', 'job_leases']) {
    await app.db.collection(name).deleteMany({});
  }
  const session = new ObjectId(
    await seedSession(app.db, {
      userId: 'alice',
      questions: ['q1', 'q2', 'q3'].map((q) => ({ question_id: q, text: q })),
    }),
  );
  const audio = wavTone(4, tone++); // 128 044 bytes: eight chunks
  const racing = await startedUpload(session, 'q1', audio, (racingExpired ? 25 : 2) * HOUR);
  const live = await startedUpload(session, 'q2', wavTone(4, tone++), 2 * HOUR);
  const expired = await startedUpload(session, 'q3', wavTone(4, tone++), 25 * HOUR);
  const orphan = idAged(2 * HOUR);
  await app.db.collection('fs.chunks').insertMany([0, 1].map((n) => ({ files_id: orphan, n, data: Buffer.alloc(10) })));
  return { session, audio, racing, live, expired, orphan, patch: new Patch(racing, audio.subarray(FIRST), FIRST) };
}

async function remains(id: ObjectId) {
  return {
    upload: await app.db.collection('resumable_uploads').countDocuments({ _id: id }),
    file: await app.db.collection('fs.files').countDocuments({ _id: id }),
    chunks: await app.db.collection('fs.chunks').countDocuments({ files_id: id }),
  };
}

const NOTHING = { upload: 0, file: 0, chunks: 0 };

async function downloaded(id: ObjectId): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of audioStore.openDownload(id)) parts.push(part);
  return Buffer.concat(parts);
}

/**
 * Nothing acknowledged is lost, and exactly the right things are left: a 202 means the answer points
 * at a file whose every byte is there; any other answer (never a 5xx) means nothing of the upload is
 * left. The bystanders fare as they would without the race.
 */
async function expectSettled(s: Scene, status: number, mustComplete: boolean, step: string) {
  expect(status, step).toBeLessThan(500);
  if (mustComplete) expect(status, step).toBe(202);
  if (status === 202) {
    expect(await remains(s.racing), step).toEqual({ upload: 0, file: 1, chunks: 8 });
    expect((await downloaded(s.racing)).equals(s.audio), step).toBe(true);
    const doc = await app.db.collection('interview_sessions').findOne({ _id: s.session });
    expect(String(doc!.answers.q1.gridfs_file_id), step).toBe(s.racing.toHexString());
  } else {
    expect(await remains(s.racing), step).toEqual(NOTHING);
  }
  expect(await remains(s.live), step).toEqual({ upload: 1, file: 0, chunks: 4 });
  expect(await remains(s.expired), step).toEqual(NOTHING);
  expect((await remains(s.orphan)).chunks, step).toBe(0);
}

type Race = { racingExpired: boolean; begunBefore: boolean; mustComplete: boolean };

/** The steps the cleanup takes in this race when nothing interferes. */
async function stepsOf(race: Race): Promise<string[]> {
  const s = await scene(race.racingExpired);
  if (race.begunBefore) await s.patch.begin();
  await injector.observe(() => cleanup.run(app.clock.now()));
  const steps = [...injector.steps];
  await expectSettled(s, await s.patch.run(), race.mustComplete, 'no race');
  return steps;
}

/** The last PATCH runs before each step of the cleanup in turn (and once after it). */
async function raceAtEveryStep(race: Race): Promise<void> {
  const steps = await stepsOf(race);
  for (let at = 0; at <= steps.length; at++) {
    const s = await scene(race.racingExpired);
    if (race.begunBefore) await s.patch.begin();
    await injector.observe(() => cleanup.run(app.clock.now()), {
      at,
      action: async () => void (await s.patch.run()),
    });
    await injector.settled();
    const status = s.patch.status ?? (await s.patch.run());
    await expectSettled(s, status, race.mustComplete, `the PATCH ran before step ${at} (${steps[at] ?? 'the end'})`);
  }
}

/** Each step of the cleanup fails in turn; the PATCH goes on, and the next run finishes the job. */
async function failAtEveryStep(race: Race): Promise<void> {
  const steps = await stepsOf(race);
  for (let at = 0; at < steps.length; at++) {
    const s = await scene(race.racingExpired);
    if (race.begunBefore) await s.patch.begin();
    const failed = injector.observe(() => cleanup.run(app.clock.now()), {
      at,
      action: async (step) => {
        throw new MongoServerError({ message: `injected: the database failed ${step}`, code: 6 });
      },
    });
    await expect(failed, `step ${at} (${steps[at]})`).rejects.toThrow(/injected/);
    const status = await s.patch.run();
    expect((await cleanup.run(app.clock.now())).skipped).toBe(false);
    await expectSettled(s, status, race.mustComplete, `step ${at} (${steps[at]}) failed`);
  }
}

const LONG = 240_000;

describe('the cleanup racing a tus completion, paused before each of its steps', () => {
  it(
    'never deletes the chunks of an upload that completes while the orphan sweep looks at it',
    async () => {
      await raceAtEveryStep({ racingExpired: false, begunBefore: false, mustComplete: true });
    },
    LONG,
  );

  it(
    'never removes an expired upload that a PATCH begun before the expiry holds, and that PATCH completes',
    async () => {
      await raceAtEveryStep({ racingExpired: true, begunBefore: true, mustComplete: true });
    },
    LONG,
  );

  it(
    'removes an expired upload whole or not at all when a PATCH takes it between the steps',
    async () => {
      await raceAtEveryStep({ racingExpired: true, begunBefore: false, mustComplete: false });
    },
    LONG,
  );
});

describe("the tus store's own deleteExpired (@tus/server's cleanUpExpiredUploads)", () => {
  it('removes what the cleanup would, and leaves the expired upload a PATCH begun before the expiry holds', async () => {
    const s = await scene(true);
    await s.patch.begin();
    expect(await store.deleteExpired()).toBe(1);
    expect(await remains(s.expired)).toEqual(NOTHING);
    expect(await s.patch.run()).toBe(202);
    expect(await remains(s.racing)).toEqual({ upload: 0, file: 1, chunks: 8 });
    expect((await downloaded(s.racing)).equals(s.audio)).toBe(true);
    expect(await remains(s.live)).toEqual({ upload: 1, file: 0, chunks: 4 });
  });
});

describe('the cleanup failing at each of its steps (a database error)', () => {
  it(
    'loses nothing, the PATCH holding an expired upload completes, and the next run removes exactly the garbage',
    async () => {
      await failAtEveryStep({ racingExpired: true, begunBefore: true, mustComplete: true });
    },
    LONG,
  );

  it(
    'loses nothing of an upload completing meanwhile, and the next run removes exactly the garbage',
    async () => {
      await failAtEveryStep({ racingExpired: false, begunBefore: false, mustComplete: true });
    },
    LONG,
  );
});

describe('an erasure of the session before each step of a tus PATCH that completes its upload', () => {
  it(
    'answers the PATCH without a 5xx, and leaves no document, file or chunk of the upload',
    async () => {
      const eraser = app.get(SessionEraser);
      const race = async (at: number | null) => {
        const s = await scene(false);
        const erased = injector.observe(() => s.patch.run(), {
          at: at ?? -1,
          action: async () => void (await eraser.erase(s.session as never, 'alice')),
        });
        const status = await erased;
        await injector.settled();
        return { s, status, steps: [...injector.steps] };
      };
      const { steps } = await race(null);
      expect(steps.length).toBeGreaterThan(5);
      for (let at = 0; at < steps.length; at++) {
        const { s, status } = await race(at);
        const step = `erased before step ${at} (${steps[at]})`;
        // 202 once the intake took the answer before the erasure (which then erases it)
        expect([202, 404, 409], step).toContain(status);
        expect(await app.db.collection('interview_sessions').countDocuments({ _id: s.session }), step).toBe(0);
        expect(await app.db.collection('resumable_uploads').countDocuments({ session_id: s.session }), step).toBe(0);
        expect(await app.db.collection('fs.files').countDocuments({ 'metadata.session_id': s.session }), step).toBe(0);
        for (const id of [s.racing, s.live, s.expired]) expect(await remains(id), step).toEqual(NOTHING);
      }
    },
    LONG,
  );
});
