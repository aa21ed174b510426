import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { AnswerDelivery, SessionDelivery } from '../delivery/delivery.js';

export type ScoringMethod = 'llm' | 'local' | 'none';

/** One criterion of the rubric, as scored. */
@Schema({ _id: false })
export class CriterionScore {
  @Prop({ required: true })
  criterion_id: string;

  @Prop({ required: true })
  name: string;

  @Prop({ required: true })
  weight: number;

  /** The rubric level 0–4 the LLM chose; null from the local scorer or when not judged. */
  @Prop({ type: Number, default: null })
  level: number | null;

  /** 0–100 (a level times 25, or the local key-term coverage); null: not judged. */
  @Prop({ type: Number, default: null })
  score: number | null;

  @Prop({ type: String, default: null })
  rationale: string | null;

  /** A verbatim span of the transcript that earned the score. */
  @Prop({ type: String, default: null })
  evidence: string | null;

  /** Local scorer: the model answer's key terms the candidate said, and those missed. */
  @Prop({ type: [String], default: undefined })
  found_terms?: string[];

  @Prop({ type: [String], default: undefined })
  missed_terms?: string[];

  @Prop({ type: String, required: true })
  method: ScoringMethod;

  /** The level the model chose before a review flag capped it (the stored level is the cap). */
  @Prop({ type: Number, default: undefined })
  capped_from?: number;
}
export const CriterionScoreSchema = SchemaFactory.createForClass(CriterionScore);

export const REVIEW_REASON_CODES = [
  'sample_spread',
  'evaluator_speech',
  'model_reported_evaluator_speech',
  'coverage_disagreement',
] as const;
export type ReviewReasonCode = (typeof REVIEW_REASON_CODES)[number];

/** Why a person should look at an answer's score; the score is never raised by it. */
@Schema({ _id: false })
export class ReviewReason {
  @Prop({ type: String, required: true, enum: REVIEW_REASON_CODES })
  code: ReviewReasonCode;

  /** A sentence for the reviewer, with the words that caused it where there are any. */
  @Prop({ required: true })
  detail: string;
}
export const ReviewReasonSchema = SchemaFactory.createForClass(ReviewReason);

/** What scored an answer, so that a score can be audited and re-run (POST /api/analyze/:id?rescore=true). */
@Schema({ _id: false })
export class ScoringProvenance {
  @Prop({ type: String, required: true })
  method: ScoringMethod;

  /** The chat model (SCORING_MODEL) for llm; null for local and none. */
  @Prop({ type: String, default: null })
  model: string | null;

  @Prop({ required: true })
  instructions_version: string;

  /** sha256 of the instructions and the reply schema sent to the model. */
  @Prop({ required: true })
  instructions_hash: string;

  /** sha256 of the rubric the answer was judged by; null when it was not scored. */
  @Prop({ type: String, default: null })
  rubric_hash: string | null;

  @Prop({ required: true })
  samples: number;

  @Prop({ required: true })
  scored_at: Date;

  /** Chat completions sent for this answer, and the tokens their replies' `usage` reported. */
  @Prop({ default: 0 })
  chat_calls: number;

  @Prop({ default: 0 })
  prompt_tokens: number;

  @Prop({ default: 0 })
  completion_tokens: number;
}
export const ScoringProvenanceSchema = SchemaFactory.createForClass(ScoringProvenance);

@Schema({ _id: false })
export class ScoredAnswer {
  @Prop({ required: true })
  question_id: string;

  @Prop({ required: true })
  score: number;

  @Prop({ type: [String], required: true })
  feedback: string[];

  /** Analyses stored before the bounds copied the model answer and the transcript; newer ones do not (views read the session's). */
  @Prop({ type: String, default: undefined })
  model_answer?: string;

  @Prop({ type: String, default: undefined })
  transcript?: string | null;

  /** A rationale, evidence or feedback line was cut to its share of ANALYSIS_TEXT_MAX_BYTES. */
  @Prop({ type: Boolean, default: undefined })
  texts_truncated?: boolean;

  @Prop({ default: false })
  unanswered: boolean;

  /** The recording held no speech: scored 0 without the scorer. */
  @Prop({ default: false })
  no_speech?: boolean;

  /** The transcript was a known silence hallucination: scored 0 without the scorer. */
  @Prop({ default: false })
  suspect_hallucination?: boolean;

  @Prop({ type: String, required: true })
  method: ScoringMethod;

  @Prop({ type: [CriterionScoreSchema], default: [] })
  criteria: CriterionScore[];

  /** Independent scorings whose median is `score`. */
  @Prop({ default: 0 })
  samples: number;

  /** Highest minus lowest sample score (0–100); null with fewer than two samples. */
  @Prop({ type: Number, default: null })
  spread: number | null;

  @Prop({ default: false })
  needs_review: boolean;

  /** Why needs_review is set; empty when it is not. */
  @Prop({ type: [ReviewReasonSchema], default: [] })
  review_reasons?: ReviewReason[];

  /** What scored it; absent on analyses stored before provenance was kept. */
  @Prop({ type: ScoringProvenanceSchema, default: undefined })
  provenance?: ScoringProvenance;

  /** When the speech guard heard nothing (the answer's no_speech), or the transcript is a suspected hallucination. */
  @Prop({ type: String, default: null })
  not_scored_reason?: 'no_speech' | 'suspect_hallucination' | null;

  /** Pace, pauses and filler words (AnswerDelivery in delivery.ts). */
  @Prop({ type: Object, default: null })
  delivery: AnswerDelivery | null;
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

  /** Averages and ranges of the answers' delivery (SessionDelivery in delivery.ts). */
  @Prop({ type: Object, default: null })
  delivery: SessionDelivery | null;
}
export const AnalysisSchema = SchemaFactory.createForClass(Analysis);

/** Held by the one request that scores the session; a crashed holder's claim lapses. */
@Schema({ _id: false })
export class AnalysisClaim {
  @Prop({ required: true })
  id: string;

  @Prop({ required: true })
  until: Date;

  /** Taken to score an analyzed session again: given back, the session is analyzed as before. */
  @Prop({ type: Boolean, default: undefined })
  rescore?: boolean;
}
export const AnalysisClaimSchema = SchemaFactory.createForClass(AnalysisClaim);

/**
 * One answer's score, kept while the session is open so that analyze can reuse it: taken by a claim
 * (status scoring, with a lease its holder renews) and stored (status scored) only while the answer
 * is still the version `answer_id` and the claim still held. A re-upload gives the answer a new id,
 * which makes this record stale for it and claimable again; other answers keep theirs.
 */
@Schema({ _id: false })
export class AnswerScoreRecord {
  /** The id of the answer (upload) this is the score of. */
  @Prop({ required: true })
  answer_id: string;

  @Prop({ type: String, required: true, enum: ['scoring', 'scored'] })
  status: 'scoring' | 'scored';

  @Prop({ type: String, default: null })
  claim_id: string | null;

  @Prop({ type: Date, default: null })
  lease_until: Date | null;

  /** The scorer's result (AnswerScore in answer-scorer.ts); null while scoring. */
  @Prop({ type: Object, default: null })
  result: Record<string, unknown> | null;
}
export const AnswerScoreRecordSchema = SchemaFactory.createForClass(AnswerScoreRecord);
