import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Types } from 'mongoose';
import { SessionDocuments } from '../interview-record/session-documents.js';
import type { Rubric } from '../interview-record/rubric.schema.js';
import type { Answer } from '../interview-record/answer.schema.js';
import { answerFieldsProjection } from '../interview-record/answer-paths.js';
import type { Question, SessionRecord } from '../interview-record/session.schema.js';

/** What one line of the session list reads: never transcripts, segments, question texts or rubrics. */
export const LIST_FIELDS = {
  title: 1,
  status: 1,
  created_at: 1,
  updated_at: 1,
  'questions.question_id': 1,
  'analysis.final_score': 1,
} as const;

export type SessionListRow = Pick<SessionRecord, '_id' | 'title' | 'status' | 'created_at' | 'updated_at'> & {
  questions: Pick<Question, 'question_id'>[];
  answers: Record<string, Pick<Answer, 'transcription_status'>>;
  analysis?: { final_score?: number | null } | null;
};

/** Sessions as a whole: creation, lookup, the owner's list, and the steps of an erasure. */
@Injectable()
export class SessionRepository implements OnModuleInit {
  private readonly logger = new Logger(SessionRepository.name);

  constructor(private readonly documents: SessionDocuments) {}

  /** Waits for mongoose to create the collection and its indexes before any request (see ensureCollection). */
  async onModuleInit(): Promise<void> {
    await this.documents.model
      .init()
      .catch((error: Error) => this.logger.warn(`could not create the session indexes: ${error.message}`));
  }

  async create(
    userId: string,
    fields: {
      title: string;
      questions: Question[];
      webhookUrl: string | null;
      language: string | null;
      rubric?: Rubric | null;
      languages?: string[] | null;
    },
    now: Date,
  ): Promise<SessionRecord> {
    const [created] = await this.documents.model.insertMany([
      {
        user_id: userId,
        title: fields.title,
        questions: fields.questions,
        webhook_url: fields.webhookUrl,
        language: fields.language,
        rubric: fields.rubric ?? null,
        languages: fields.languages ?? null,
        answers: {},
        status: 'in_progress',
        created_at: now,
        updated_at: now,
        rev: 0,
      },
    ]);
    return created.toObject({ flattenMaps: true });
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
    // an exclusion (every value 0) keeps user_id and status already, and may not be mixed with inclusions
    const excludes = projection && Object.values(projection).every((v) => v === 0);
    const fields = projection && !excludes ? { ...projection, user_id: 1, status: 1 } : projection;
    const session = await this.documents.model.findOne({ _id: sessionId }, fields).lean<SessionRecord>().exec();
    return session && session.user_id === userId && session.status !== 'erasing' ? session : null;
  }

  /** Each session's `rev` only: what a watcher compares before it reads a whole document. */
  revsOf(sessionIds: Types.ObjectId[]): Promise<{ _id: Types.ObjectId; rev: number }[]> {
    return this.documents.model
      .find({ _id: { $in: sessionIds } }, { rev: 1 })
      .lean<{ _id: Types.ObjectId; rev: number }[]>()
      .exec();
  }

  /** Whole sessions, or only the fields of `projection` (paths into answers name the question id). */
  findMany(sessionIds: Types.ObjectId[], projection?: Record<string, 1>): Promise<SessionRecord[]> {
    return this.documents.model
      .find({ _id: { $in: sessionIds } }, projection)
      .lean<SessionRecord[]>()
      .exec();
  }

  /**
   * A page of the user's sessions, newest first. `before` is the (created_at, _id) of the last
   * session of the previous page, so sessions created meanwhile never shift the pages.
   */
  async listOwned(
    userId: string,
    options: { limit: number; status?: string; before?: { createdAt: Date; id: Types.ObjectId } },
  ): Promise<SessionListRow[]> {
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
    const rows = await this.documents.model
      .find(filter, LIST_FIELDS)
      .sort({ created_at: -1, _id: -1 })
      .limit(options.limit)
      .lean<SessionListRow[]>()
      .exec();
    return this.withAnswerStatuses(rows);
  }

  /**
   * Adds each answer's transcription_status, and nothing else of it: answers is a map keyed by
   * question id, which a projection can only name key by key, so the keys come from the first
   * read's question ids. Transcripts and segments (the bulk of a session) are never read.
   */
  private async withAnswerStatuses(rows: SessionListRow[]): Promise<SessionListRow[]> {
    const keys = new Set(rows.flatMap((row) => row.questions.map((q) => q.question_id)));
    if (keys.size === 0) return rows.map((row) => ({ ...row, answers: {} }));
    const statuses = await this.documents.model
      .find({ _id: { $in: rows.map((row) => row._id) } }, answerFieldsProjection(keys, ['transcription_status']))
      .lean<Pick<SessionListRow, '_id' | 'answers'>[]>()
      .exec();
    const byId = new Map(statuses.map((s) => [String(s._id), s.answers ?? {}]));
    return rows.map((row) => ({ ...row, answers: byId.get(String(row._id)) ?? {} }));
  }

  /**
   * First step of an erasure: the session disappears for its owner and its jobs, at once. Returns
   * null when there is no such session (for that user). Marking twice is harmless.
   */
  markErasing(sessionId: Types.ObjectId, userId: string | undefined, now: Date): Promise<SessionRecord | null> {
    return this.documents.findOneAndUpdate(
      sessionId,
      userId === undefined ? {} : { user_id: userId },
      {
        $set: { status: 'erasing', erasing_since: now, updated_at: now },
        $unset: { work_due_at: '' },
        $inc: { rev: 1 },
      },
      'after',
    );
  }

  /** How many sessions the user has that are not being erased. */
  countOwned(userId: string): Promise<number> {
    return this.documents.model.countDocuments({ user_id: userId, status: { $ne: 'erasing' } }).exec();
  }

  /** Takes back a session just created, before anyone was told of it (over the user's limit). */
  withdrawCreated(sessionId: Types.ObjectId): Promise<boolean> {
    return this.documents.deleteOne(sessionId, { status: 'in_progress' });
  }

  /** Last step of an erasure, once the session's audio is gone. */
  deleteErasing(sessionId: Types.ObjectId): Promise<boolean> {
    return this.documents.deleteOne(sessionId, { status: 'erasing' });
  }

  /** Which of these sessions exist (erasing ones included). */
  async existing(sessionIds: Types.ObjectId[]): Promise<Set<string>> {
    const rows = await this.documents.model
      .find({ _id: { $in: sessionIds } }, { _id: 1 })
      .lean<{ _id: Types.ObjectId }[]>()
      .exec();
    return new Set(rows.map((row) => String(row._id)));
  }

  /** Ids of sessions whose erasure was interrupted, or that were created before `cutoff`. */
  async idsToErase(kind: 'interrupted' | 'expired', cutoff: Date, limit: number): Promise<Types.ObjectId[]> {
    const filter: Record<string, unknown> =
      kind === 'interrupted' ? { status: 'erasing' } : { created_at: { $lt: cutoff }, status: { $ne: 'erasing' } };
    const rows = await this.documents.model
      .find(filter, { _id: 1 })
      .limit(limit)
      .lean<{ _id: Types.ObjectId }[]>()
      .exec();
    return rows.map((r) => r._id);
  }
}
