import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { HydratedDocument, Types } from 'mongoose';

export const TRANSCRIPTION_STATUSES = ['queued', 'processing', 'completed', 'failed'] as const;
export type TranscriptionStatus = (typeof TRANSCRIPTION_STATUSES)[number];

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
}
export const QuestionSchema = SchemaFactory.createForClass(Question);

@Schema({ _id: false })
export class AnswerAudio {
  @Prop({ required: true })
  format: string;

  @Prop({ required: true })
  content_type: string;

  @Prop({ required: true })
  size_bytes: number;

  /** Of the bytes as uploaded; the transcription job checks the stored audio against it. */
  @Prop({ type: String })
  sha256?: string;
}
export const AnswerAudioSchema = SchemaFactory.createForClass(AnswerAudio);

/** A stretch of a transcript with its time in the recording, as the provider returned it. */
@Schema({ _id: false })
export class TranscriptSegment {
  @Prop({ required: true })
  start: number;

  @Prop({ required: true })
  end: number;

  @Prop({ required: true })
  text: string;
}
export const TranscriptSegmentSchema = SchemaFactory.createForClass(TranscriptSegment);

/**
 * One piece of a recording too large to send whole: where it lies in the compressed recording and,
 * once the provider transcribed it, its result. Kept while the answer is unfinished, so that a retry
 * or a restarted job only sends the pieces still missing.
 */
@Schema({ _id: false })
export class AnswerPiece {
  @Prop({ required: true })
  start_seconds: number;

  @Prop({ required: true })
  end_seconds: number;

  @Prop({ default: false })
  done: boolean;

  @Prop({ type: String, default: null })
  text: string | null;

  @Prop({ type: String, default: null })
  language: string | null;

  /** Relative to the piece's start. */
  @Prop({ type: [TranscriptSegmentSchema], default: null })
  segments: TranscriptSegment[] | null;
}
export const AnswerPieceSchema = SchemaFactory.createForClass(AnswerPiece);

/**
 * One recorded answer. Its transcription_status is the source of truth for the background job;
 * claim_id and lease_until belong to whichever worker holds the processing claim.
 */
@Schema({ _id: false })
export class Answer {
  /** Changes with every upload, so an old job can never be mistaken for the current one. */
  @Prop({ required: true })
  id: string;

  @Prop({ required: true })
  question_id: string;

  /** The audio in GridFS; null once transcribed (the audio is then deleted). */
  @Prop({ type: Types.ObjectId, default: null })
  gridfs_file_id: Types.ObjectId | null;

  @Prop({ required: true, enum: TRANSCRIPTION_STATUSES })
  transcription_status: TranscriptionStatus;

  @Prop({ type: String, default: null })
  transcript: string | null;

  @Prop({ type: Date, default: null })
  transcribed_at: Date | null;

  @Prop({ type: String, default: null })
  transcription_error: string | null;

  @Prop({ default: 0 })
  attempts: number;

  @Prop({ required: true })
  created_at: Date;

  @Prop({ required: true })
  updated_at: Date;

  /** Upload time: jobs are started in this order. */
  @Prop({ required: true })
  queued_at: Date;

  /** A retry waits until then; null means "now". */
  @Prop({ type: Date, default: null })
  next_attempt_at: Date | null;

  @Prop({ type: String, default: null })
  claim_id: string | null;

  @Prop({ type: Date, default: null })
  lease_until: Date | null;

  @Prop({ type: AnswerAudioSchema, required: true })
  audio: AnswerAudio;

  /** The id of the upload request (X-Request-Id); the transcription job logs under it too. */
  @Prop({ type: String, default: null })
  request_id?: string | null;
  /** Language the provider detected (or was told), as the provider names it. */
  @Prop({ type: String, default: null })
  language?: string | null;

  @Prop({ type: Number, default: null })
  duration_seconds?: number | null;

  /** Timed stretches of the transcript, when the provider returns them (whisper-1). */
  @Prop({ type: [TranscriptSegmentSchema], default: null })
  segments?: TranscriptSegment[] | null;

  /** 0–100 by pieces transcribed, while a recording split into pieces is worked on. */
  @Prop({ type: Number, default: null })
  progress?: number | null;

  /** The pieces of a recording over the provider's size limit; null when sent whole. */
  @Prop({ type: [AnswerPieceSchema], default: null })
  pieces?: AnswerPiece[] | null;

  /** Set when the retention cleanup deleted the audio of a failed answer; retry then answers 410. */
  @Prop({ type: Date, default: null })
  audio_expired_at?: Date | null;
}
export const AnswerSchema = SchemaFactory.createForClass(Answer);

export type ScoringMethod = 'llm' | 'local' | 'none';

@Schema({ _id: false })
export class ScoredAnswer {
  @Prop({ required: true })
  question_id: string;

  @Prop({ required: true })
  score: number;

  @Prop({ type: [String], required: true })
  feedback: string[];

  @Prop({ default: '' })
  model_answer: string;

  @Prop({ type: String, default: null })
  transcript: string | null;

  @Prop({ default: false })
  unanswered: boolean;

  @Prop({ required: true })
  method: ScoringMethod;
}
export const ScoredAnswerSchema = SchemaFactory.createForClass(ScoredAnswer);

@Schema({ _id: false })
export class Analysis {
  @Prop({ required: true })
  final_score: number;

  @Prop({ required: true })
  scored_count: number;

  @Prop({ type: [ScoredAnswerSchema], required: true })
  answers: ScoredAnswer[];

  @Prop({ required: true })
  analyzed_at: Date;
}
export const AnalysisSchema = SchemaFactory.createForClass(Analysis);

@Schema({ _id: false })
export class AnalysisClaim {
  @Prop({ required: true })
  id: string;

  @Prop({ required: true })
  until: Date;
}
export const AnalysisClaimSchema = SchemaFactory.createForClass(AnalysisClaim);

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

  @Prop({ type: Map, of: AnswerSchema, default: {} })
  answers: Map<string, Answer>;

  @Prop({ required: true, enum: SESSION_STATUSES, default: 'in_progress' })
  status: SessionStatus;

  @Prop({ required: true })
  created_at: Date;

  @Prop({ required: true })
  updated_at: Date;

  @Prop({ type: AnalysisSchema, default: null })
  analysis: Analysis | null;

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
}

export type InterviewSessionDocument = HydratedDocument<InterviewSession>;
export const InterviewSessionSchema = SchemaFactory.createForClass(InterviewSession);
InterviewSessionSchema.index({ user_id: 1, created_at: -1, _id: -1 });
// retention and unfinished erasures are found across all users
InterviewSessionSchema.index({ created_at: 1 });
InterviewSessionSchema.index({ status: 1 });
InterviewSessionSchema.index({ work_due_at: 1 }, { sparse: true });

/** A session as read with lean(): answers is a plain object keyed by question_id. */
export type SessionRecord = Omit<InterviewSession, 'answers'> & { answers: Record<string, Answer> };
