import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

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

  /** The recording held no speech: scored 0 without the scorer. */
  @Prop({ default: false })
  no_speech?: boolean;

  /** The transcript was a known silence hallucination: scored 0 without the scorer. */
  @Prop({ default: false })
  suspect_hallucination?: boolean;

  @Prop({ type: String, required: true })
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

/** Held by the one request that scores the session; a crashed holder's claim lapses. */
@Schema({ _id: false })
export class AnalysisClaim {
  @Prop({ required: true })
  id: string;

  @Prop({ required: true })
  until: Date;
}
export const AnalysisClaimSchema = SchemaFactory.createForClass(AnalysisClaim);
