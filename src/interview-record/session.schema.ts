import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { HydratedDocument, Schema as MongooseSchema, Types } from 'mongoose';
import type { PendingWebhooks } from './pending-webhooks.js';
import {
  Analysis,
  AnalysisClaim,
  AnalysisClaimSchema,
  AnalysisSchema,
  AnswerScoreRecord,
  AnswerScoreRecordSchema,
} from './analysis.schema.js';
import { Rubric, RubricSchema } from './rubric.schema.js';
import { Answer, AnswerSchema } from './answer.schema.js';

export const SESSION_STATUSES = ['in_progress', 'analyzing', 'analyzed', 'erasing'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

@Schema({ _id: false })
export class Question {
  @Prop({ required: true })
  question_id: string;

  @Prop({ required: true })
  text: string;

  @Prop({ default: '' })
  model_answer: string;

  /** Overrides the session's rubric for this question. */
  @Prop({ type: RubricSchema, default: null })
  rubric?: Rubric | null;
  /** Terms the candidate is likely to say, given at creation: sent to the provider first. */
  @Prop({ type: [String], default: undefined })
  vocabulary?: string[];
}
export const QuestionSchema = SchemaFactory.createForClass(Question);

@Schema({ collection: 'interview_sessions', versionKey: false })
export class InterviewSession {
  _id: Types.ObjectId;

  @Prop({ required: true })
  user_id: string;

  @Prop({ default: '' })
  title: string;

  /** Receives signed events (transcriptions.completed, transcription.failed, session.analyzed). */
  @Prop({ type: String, default: null })
  webhook_url?: string | null;

  @Prop({ type: [QuestionSchema], required: true })
  questions: Question[];

  /** ISO-639-1 code passed to the transcription provider; null: the provider detects it. */
  @Prop({ type: String, default: null })
  language?: string | null;

  /** How answers are scored; null: the default rubric (a question's own rubric wins). */
  @Prop({ type: RubricSchema, default: null })
  rubric?: Rubric | null;
  /** The languages a bilingual interview may be answered in (ISO-639-1); null: one, or detected. */
  @Prop({ type: [String], default: null })
  languages?: string[] | null;

  @Prop({ type: Map, of: AnswerSchema, default: {} })
  answers: Map<string, Answer>;

  @Prop({ type: String, required: true, enum: SESSION_STATUSES, default: 'in_progress' })
  status: SessionStatus;

  @Prop({ required: true })
  created_at: Date;

  @Prop({ required: true })
  updated_at: Date;

  @Prop({ type: AnalysisSchema, default: null })
  analysis: Analysis | null;

  /** Per question id: the answer's score as scored when its transcript was stored (SCORING_EAGER) or by analyze. */
  @Prop({ type: Map, of: AnswerScoreRecordSchema, default: undefined })
  answer_scores?: Record<string, AnswerScoreRecord>;

  /** The analysis a rescore replaced (POST /api/analyze/:id?rescore=true): only the one before, so the document stays bounded. */
  @Prop({ type: AnalysisSchema, default: null })
  previous_analysis?: Analysis | null;

  /** Held by the one request that scores the session; a crashed holder's claim lapses. */
  @Prop({ type: AnalysisClaimSchema, default: null })
  analysis_claim: AnalysisClaim | null;

  /** When an erasure began; a session in 'erasing' is invisible and the cleanup finishes it. */
  @Prop({ type: Date, default: null })
  erasing_since?: Date | null;

  /** Bumped by every change to an answer's state; guards the work_due_at recomputation. */
  @Prop({ default: 0 })
  rev: number;

  /**
   * Never later than the moment any answer of this session next needs a worker (a queued answer
   * becoming due, or a processing lease running out); absent when nothing is pending. Workers scan
   * this indexed field instead of every answer of every session.
   */
  @Prop({ type: Date })
  work_due_at?: Date;

  /**
   * Webhook events written by the same update as the change they report, by event id, until they
   * are relayed to webhook_deliveries (SessionWebhookRelay); webhooks_due_at is set while any are.
   */
  @Prop({ type: MongooseSchema.Types.Mixed })
  pending_webhooks?: PendingWebhooks;

  @Prop({ type: Date })
  webhooks_due_at?: Date;
}

export type InterviewSessionDocument = HydratedDocument<InterviewSession>;
export const InterviewSessionSchema = SchemaFactory.createForClass(InterviewSession);
InterviewSessionSchema.index({ user_id: 1, created_at: -1, _id: -1 });
// retention and unfinished erasures are found across all users
InterviewSessionSchema.index({ created_at: 1 });
InterviewSessionSchema.index({ status: 1 });
InterviewSessionSchema.index({ work_due_at: 1 }, { sparse: true });
InterviewSessionSchema.index({ webhooks_due_at: 1 }, { sparse: true });

/** A session as read with lean(): answers is a plain object keyed by question_id. */
export type SessionRecord = Omit<InterviewSession, 'answers'> & { answers: Record<string, Answer> };
