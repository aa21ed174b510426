import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import { DocumentLocks } from '../database/document-locks.js';
import { earliestDueAt } from './answer-state.js';
import {
  Analysis,
  AnalysisClaim,
  Answer,
  AnswerPiece,
  InterviewSession,
  Question,
  SessionRecord,
} from './session.schema.js';

const answerPath = (questionId: string) => `answers.${questionId}`;

// findOneAndUpdate returns whole documents: FerretDB 1.x does not implement findAndModify's
// "fields" projection, and a session is a few kilobytes of text.

/** Prefixes every key of `fields` with the answer's path, for a $set. */
function answerFields(questionId: string, fields: Partial<Answer>): Record<string, unknown> {
  const prefix = answerPath(questionId);
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [`${prefix}.${key}`, value]));
}

/**
 * Every read and write of interview-session documents. Each change of an answer's state is one
 * conditional single-document update, so concurrent requests, workers and instances cannot lose or
 * double a change, and nothing needs a multi-document transaction.
 */
@Injectable()
export class SessionStore implements OnModuleInit {
  private readonly logger = new Logger(SessionStore.name);

  constructor(
    @InjectModel(InterviewSession.name) private readonly sessions: Model<InterviewSession>,
    private readonly locks: DocumentLocks,
  ) {}

  /** Waits for mongoose to create the collection and its indexes before any request (see ensureCollection). */
  async onModuleInit(): Promise<void> {
    await this.sessions
      .init()
      .catch((error: Error) => this.logger.warn(`could not create the session indexes: ${error.message}`));
  }

  /** Runs one write to a session exclusively where the server needs help with that (FerretDB). */
  private write<T>(sessionId: Types.ObjectId, work: () => Promise<T>): Promise<T> {
    return this.locks.withLock(`interview_sessions:${String(sessionId)}`, work);
  }

  async create(
    userId: string,
    title: string,
    questions: Question[],
    webhookUrl: string | null = null,
    language: string | null = null,
    now = new Date(),
  ): Promise<SessionRecord> {
    const [created] = await this.sessions.insertMany([
      {
        user_id: userId,
        title,
        questions,
        webhook_url: webhookUrl,
        language,
        answers: {},
        status: 'in_progress',
        created_at: now,
        updated_at: now,
        rev: 0,
      },
    ]);
    return created.toObject({ flattenMaps: true }) as unknown as SessionRecord;
  }

  /**
   * The session if `userId` owns it and it is not being erased. Only _id is in the filter; owner and
   * status are checked here. FerretDB on SQLite evaluates an _id-only filter inside SQLite, but for
   * any other filter reads and decodes every document of the collection (explain: filterPushdown
   * false), which made each status or analyze call slower the more sessions exist. On MongoDB both
   * filters are one _id index lookup.
   */
  async findOwned(
    sessionId: Types.ObjectId,
    userId: string,
    projection?: Record<string, 0 | 1>,
  ): Promise<SessionRecord | null> {
    const fields = projection ? { ...projection, user_id: 1, status: 1 } : undefined;
    const session = await this.sessions.findOne({ _id: sessionId }, fields).lean<SessionRecord>().exec();
    return session && session.user_id === userId && session.status !== 'erasing' ? session : null;
  }

  findMany(sessionIds: Types.ObjectId[]): Promise<SessionRecord[]> {
    return this.sessions
      .find({ _id: { $in: sessionIds } })
      .lean<SessionRecord[]>()
      .exec();
  }

  /**
   * Makes `answer` the current answer to the question, if the session is still open. The caller has
   * checked that the session has the question (questions never change after creation): a filter
   * through the questions array would match nothing on FerretDB's PostgreSQL backend, whose
   * updates ignore documents matched through an array. Returns the previous answer (null if there
   * was none), or undefined if nothing changed.
   */
  async replaceAnswer(sessionId: Types.ObjectId, userId: string, answer: Answer): Promise<Answer | null | undefined> {
    const previous = await this.write(sessionId, () =>
      this.sessions
        .findOneAndUpdate(
          { _id: sessionId, user_id: userId, status: 'in_progress' },
          {
            $set: { [answerPath(answer.question_id)]: answer, updated_at: answer.updated_at },
            $inc: { rev: 1 },
            $min: { work_due_at: answer.queued_at },
          },
          { returnDocument: 'before' },
        )
        .lean<SessionRecord>()
        .exec(),
    );
    if (!previous) return undefined;
    return previous.answers?.[answer.question_id] ?? null;
  }

  /**
   * Takes the processing claim on an answer that is due (queued, or processing with a lapsed lease),
   * only while it still points at `fileId`. Returns null if another worker, a re-upload or a
   * withdrawal got there first.
   */
  async claim(
    sessionId: Types.ObjectId,
    questionId: string,
    fileId: Types.ObjectId,
    claimId: string,
    leaseUntil: Date,
    now: Date,
  ): Promise<{ answer: Answer; sessionLanguage: string | null } | null> {
    const a = answerPath(questionId);
    const claimed = await this.write(sessionId, () =>
      this.sessions
        .findOneAndUpdate(
          {
            _id: sessionId,
            status: { $ne: 'erasing' },
            [`${a}.gridfs_file_id`]: fileId,
            $or: [
              { [`${a}.transcription_status`]: 'queued', [`${a}.next_attempt_at`]: null },
              { [`${a}.transcription_status`]: 'queued', [`${a}.next_attempt_at`]: { $lte: now } },
              { [`${a}.transcription_status`]: 'processing', [`${a}.lease_until`]: { $lt: now } },
            ],
          },
          {
            $set: answerFields(questionId, {
              transcription_status: 'processing',
              claim_id: claimId,
              lease_until: leaseUntil,
              next_attempt_at: null,
              updated_at: now,
            }),
            $inc: { [`${a}.attempts`]: 1, rev: 1 },
            $min: { work_due_at: leaseUntil },
          },
          { returnDocument: 'after' },
        )
        .lean<SessionRecord>()
        .exec(),
    );
    const answer = claimed?.answers[questionId];
    return answer ? { answer, sessionLanguage: claimed.language ?? null } : null;
  }

  /** Extends a held claim. False means the claim is gone and the job must stop without writing. */
  async renewLease(sessionId: Types.ObjectId, questionId: string, claimId: string, leaseUntil: Date): Promise<boolean> {
    const a = answerPath(questionId);
    const result = await this.write(sessionId, () =>
      this.sessions
        .updateOne(
          { _id: sessionId, [`${a}.transcription_status`]: 'processing', [`${a}.claim_id`]: claimId },
          { $set: { [`${a}.lease_until`]: leaseUntil } },
        )
        .exec(),
    );
    return result.matchedCount === 1;
  }

  /**
   * Records how a recording too large to send whole is cut, while `claimId` holds the claim.
   * False means the claim is gone.
   */
  async recordPieces(
    sessionId: Types.ObjectId,
    questionId: string,
    claimId: string,
    pieces: AnswerPiece[],
    progress: number,
  ): Promise<boolean> {
    const a = answerPath(questionId);
    const result = await this.write(sessionId, () =>
      this.sessions
        .updateOne(
          { _id: sessionId, [`${a}.transcription_status`]: 'processing', [`${a}.claim_id`]: claimId },
          { $set: { [`${a}.pieces`]: pieces, [`${a}.progress`]: progress }, $inc: { rev: 1 } },
        )
        .exec(),
    );
    return result.matchedCount === 1;
  }

  /**
   * Stores one transcribed piece and raises the answer's progress (never lowers it: pieces finish
   * in any order), while `claimId` holds the claim. False means the claim is gone.
   */
  async recordPiece(
    sessionId: Types.ObjectId,
    questionId: string,
    claimId: string,
    index: number,
    piece: AnswerPiece,
    progress: number,
  ): Promise<boolean> {
    const a = answerPath(questionId);
    const result = await this.write(sessionId, () =>
      this.sessions
        .updateOne(
          // the claim fences this: only its holder changes the pieces, which it read after claiming
          { _id: sessionId, [`${a}.transcription_status`]: 'processing', [`${a}.claim_id`]: claimId },
          { $set: { [`${a}.pieces.${index}`]: piece }, $max: { [`${a}.progress`]: progress }, $inc: { rev: 1 } },
        )
        .exec(),
    );
    return result.matchedCount === 1;
  }

  /**
   * Settles a held claim: completed, failed, or back to queued. Only the holder of the claim can do
   * it, so a job whose answer was re-uploaded or withdrawn writes nothing.
   * Returns the session's answers after the change, or null if the claim was no longer held.
   */
  async settleClaim(
    sessionId: Types.ObjectId,
    questionId: string,
    claimId: string,
    fields: Partial<Answer>,
    options: { attemptsDelta?: number; dueAt?: Date } = {},
  ): Promise<SessionRecord | null> {
    const a = answerPath(questionId);
    const update: Record<string, unknown> = {
      $set: {
        ...answerFields(questionId, { ...fields, claim_id: null, lease_until: null }),
        updated_at: fields.updated_at,
      },
      $inc: { rev: 1, ...(options.attemptsDelta ? { [`${a}.attempts`]: options.attemptsDelta } : {}) },
    };
    if (options.dueAt) update.$min = { work_due_at: options.dueAt };
    return this.write(sessionId, () =>
      this.sessions
        .findOneAndUpdate(
          { _id: sessionId, [`${a}.transcription_status`]: 'processing', [`${a}.claim_id`]: claimId },
          update,
          { returnDocument: 'after' },
        )
        .lean<SessionRecord>()
        .exec(),
    );
  }

  /** Queues a failed answer again if its audio is still kept. Returns the answer as it was before. */
  async requeueFailed(
    sessionId: Types.ObjectId,
    userId: string,
    questionId: string,
    now: Date,
  ): Promise<Answer | null> {
    const a = answerPath(questionId);
    const before = await this.write(sessionId, () =>
      this.sessions
        .findOneAndUpdate(
          {
            _id: sessionId,
            user_id: userId,
            status: 'in_progress',
            [`${a}.transcription_status`]: 'failed',
            [`${a}.gridfs_file_id`]: { $ne: null },
          },
          {
            $set: {
              ...answerFields(questionId, {
                transcription_status: 'queued',
                transcription_error: null,
                attempts: 0,
                next_attempt_at: null,
                queued_at: now,
                updated_at: now,
              }),
              updated_at: now,
            },
            $inc: { rev: 1 },
            $min: { work_due_at: now },
          },
          { returnDocument: 'before' },
        )
        .lean<SessionRecord>()
        .exec(),
    );
    return before?.answers?.[questionId] ?? null;
  }

  /**
   * Takes the right to score a session: only if nothing changed since `rev` was read (so every
   * transcription is still settled) or a previous scorer's claim has lapsed.
   */
  claimAnalysis(
    session: Pick<SessionRecord, '_id' | 'user_id' | 'rev' | 'status'>,
    claim: AnalysisClaim,
    now: Date,
  ): Promise<SessionRecord | null> {
    const filter: Record<string, unknown> =
      session.status === 'analyzing'
        ? { _id: session._id, user_id: session.user_id, status: 'analyzing', 'analysis_claim.until': { $lt: now } }
        : { _id: session._id, user_id: session.user_id, status: 'in_progress', rev: session.rev };
    return this.write(session._id, () =>
      this.sessions
        .findOneAndUpdate(
          filter,
          { $set: { status: 'analyzing', analysis_claim: claim, updated_at: now }, $inc: { rev: 1 } },
          { returnDocument: 'after' },
        )
        .lean<SessionRecord>()
        .exec(),
    );
  }

  /** Stores the scores and closes the session, if `claimId` still holds the analysis claim. */
  async saveAnalysis(sessionId: Types.ObjectId, claimId: string, analysis: Analysis): Promise<boolean> {
    const result = await this.write(sessionId, () =>
      this.sessions
        .updateOne(
          { _id: sessionId, status: 'analyzing', 'analysis_claim.id': claimId },
          {
            $set: { status: 'analyzed', analysis, analysis_claim: null, updated_at: analysis.analyzed_at },
            $inc: { rev: 1 },
          },
        )
        .exec(),
    );
    return result.modifiedCount === 1;
  }

  /** Gives the session back (scoring failed), so that a later request can try again. */
  async releaseAnalysis(sessionId: Types.ObjectId, claimId: string): Promise<void> {
    await this.write(sessionId, () =>
      this.sessions
        .updateOne(
          { _id: sessionId, status: 'analyzing', 'analysis_claim.id': claimId },
          { $set: { status: 'in_progress', analysis_claim: null, updated_at: new Date() }, $inc: { rev: 1 } },
        )
        .exec(),
    );
  }

  /**
   * Lets a settled answer drop its audio pointer (the cleanup then deletes the file), only while it
   * still points at `fileId` with `status`. A failed answer records when its audio expired.
   */
  async releaseAudio(
    sessionId: Types.ObjectId,
    questionId: string,
    fileId: Types.ObjectId,
    status: 'completed' | 'failed',
    now: Date,
  ): Promise<boolean> {
    const a = answerPath(questionId);
    const result = await this.write(sessionId, () =>
      this.sessions
        .updateOne(
          { _id: sessionId, [`${a}.transcription_status`]: status, [`${a}.gridfs_file_id`]: fileId },
          {
            $set: answerFields(questionId, {
              gridfs_file_id: null,
              updated_at: now,
              ...(status === 'failed' ? { audio_expired_at: now } : {}),
            }),
            $inc: { rev: 1 },
          },
        )
        .exec(),
    );
    return result.modifiedCount === 1;
  }

  /**
   * A page of the user's sessions, newest first. `before` is the (created_at, _id) of the last
   * session of the previous page, so sessions created meanwhile never shift the pages.
   */
  listOwned(
    userId: string,
    options: { limit: number; status?: string; before?: { createdAt: Date; id: Types.ObjectId } },
  ): Promise<SessionRecord[]> {
    const filter: Record<string, unknown> = {
      user_id: userId,
      status: options.status ?? { $ne: 'erasing' },
    };
    if (options.before) {
      filter.$or = [
        { created_at: { $lt: options.before.createdAt } },
        { created_at: options.before.createdAt, _id: { $lt: options.before.id } },
      ];
    }
    return this.sessions
      .find(filter)
      .sort({ created_at: -1, _id: -1 })
      .limit(options.limit)
      .lean<SessionRecord[]>()
      .exec();
  }

  /** Removes one answer; returns it as it was, or undefined if the session could not take it. */
  async withdrawAnswer(
    sessionId: Types.ObjectId,
    userId: string,
    questionId: string,
    now: Date,
  ): Promise<Answer | undefined> {
    const a = answerPath(questionId);
    const before = await this.write(sessionId, () =>
      this.sessions
        .findOneAndUpdate(
          { _id: sessionId, user_id: userId, status: 'in_progress', [a]: { $exists: true } },
          { $unset: { [a]: '' }, $set: { updated_at: now }, $inc: { rev: 1 } },
          { returnDocument: 'before' },
        )
        .lean<SessionRecord>()
        .exec(),
    );
    return before?.answers?.[questionId];
  }

  /**
   * First step of an erasure: the session disappears for its owner and its jobs, at once. Returns
   * null when there is no such session (for that user). Marking twice is harmless.
   */
  markErasing(sessionId: Types.ObjectId, userId: string | undefined, now: Date): Promise<SessionRecord | null> {
    return this.write(sessionId, () =>
      this.sessions
        .findOneAndUpdate(
          { _id: sessionId, ...(userId === undefined ? {} : { user_id: userId }) },
          {
            $set: { status: 'erasing', erasing_since: now, updated_at: now },
            $unset: { work_due_at: '' },
            $inc: { rev: 1 },
          },
          { returnDocument: 'after' },
        )
        .lean<SessionRecord>()
        .exec(),
    );
  }

  /** Last step of an erasure, once the session's audio is gone. */
  async deleteErasing(sessionId: Types.ObjectId): Promise<boolean> {
    const result = await this.write(sessionId, () =>
      this.sessions.deleteOne({ _id: sessionId, status: 'erasing' }).exec(),
    );
    return result.deletedCount === 1;
  }

  /** Ids of sessions whose erasure was interrupted, or that were created before `cutoff`. */
  async idsToErase(kind: 'interrupted' | 'expired', cutoff: Date, limit: number): Promise<Types.ObjectId[]> {
    const filter: Record<string, unknown> =
      kind === 'interrupted' ? { status: 'erasing' } : { created_at: { $lt: cutoff }, status: { $ne: 'erasing' } };
    const rows = await this.sessions.find(filter, { _id: 1 }).limit(limit).lean<{ _id: Types.ObjectId }[]>().exec();
    return rows.map((r) => r._id);
  }

  /** Every session with an answer still to transcribe (work_due_at is set exactly for those). */
  pendingSessions(): AsyncIterable<Pick<SessionRecord, '_id' | 'answers'>> {
    return this.sessions
      .find({ work_due_at: { $exists: true } }, { answers: 1 })
      .lean<Pick<SessionRecord, '_id' | 'answers'>>()
      .cursor({ batchSize: 500 });
  }

  /** Sessions that may have an answer needing a worker by `now`, earliest first. */
  findDue(now: Date, limit: number): Promise<Pick<SessionRecord, '_id' | 'rev' | 'answers'>[]> {
    return this.sessions
      .find({ work_due_at: { $lte: now } }, { rev: 1, answers: 1 })
      .sort({ work_due_at: 1 })
      .limit(limit)
      .lean<Pick<SessionRecord, '_id' | 'rev' | 'answers'>[]>()
      .exec();
  }

  /**
   * Sets work_due_at to exactly when this session next needs a worker, unless the session changed
   * since it was read (then whoever changed it kept work_due_at early enough).
   */
  async refreshWorkDue(session: Pick<SessionRecord, '_id' | 'rev' | 'answers'>): Promise<void> {
    const due = earliestDueAt(session.answers ?? {});
    await this.write(session._id, () =>
      this.sessions
        .updateOne(
          { _id: session._id, rev: session.rev },
          due ? { $set: { work_due_at: due } } : { $unset: { work_due_at: '' } },
        )
        .exec(),
    );
  }
}
