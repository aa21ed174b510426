import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { TranscriptSegment, TranscriptSegmentSchema } from './transcript-segment.schema.js';
import { AnswerSpeech, AnswerSpeechSchema } from './answer-speech.schema.js';

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

  /** Transcribed without the interview's hints, which the provider refused. */
  @Prop({ type: Boolean, default: undefined })
  without_hints?: boolean;
}
export const AnswerPieceSchema = SchemaFactory.createForClass(AnswerPiece);

/**
 * The provider's finished result, stored (fenced by the claim) before the audio is deleted and the
 * answer completed. A job that finds it after a crash or a failed completion write completes the
 * answer from it: the provider is never asked twice about the same bytes.
 */
@Schema({ _id: false })
export class HeldResult {
  @Prop({ type: String, required: true })
  text: string;

  @Prop({ type: String, default: null })
  language: string | null;

  @Prop({ type: Number, default: null })
  duration_seconds: number | null;

  @Prop({ type: [TranscriptSegmentSchema], default: null })
  segments: TranscriptSegment[] | null;

  @Prop({ type: AnswerSpeechSchema, default: null })
  speech?: AnswerSpeech | null;

  @Prop({ type: Boolean, default: false })
  no_speech?: boolean;

  @Prop({ type: Boolean, default: false })
  suspect_hallucination?: boolean;

  @Prop({ type: Boolean, default: undefined })
  disfluencies_kept?: boolean;

  @Prop({ type: Boolean, default: undefined })
  transcribed_without_hints?: boolean;
}
export const HeldResultSchema = SchemaFactory.createForClass(HeldResult);

/**
 * What the transcription queue keeps on each answer: its place in the queue, the claim of the
 * worker that holds it and the pieces of a split recording. The answer's transcription_status is
 * the state these belong to. Stored flat beside the answer's own fields (answers.<q>.claim_id),
 * composed into the answer's schema.
 */
@Schema({ _id: false })
export class AnswerQueueState {
  /** Upload time: jobs are started in this order. */
  @Prop({ required: true })
  queued_at: Date;

  @Prop({ default: 0 })
  attempts: number;

  /** A retry waits until then; null means "now". */
  @Prop({ type: Date, default: null })
  next_attempt_at: Date | null;

  /** Held by one worker while processing; only its holder may settle the answer. */
  @Prop({ type: String, default: null })
  claim_id: string | null;

  /** The claim lapses then unless its holder renews it. */
  @Prop({ type: Date, default: null })
  lease_until: Date | null;

  /** The pieces of a recording over the provider's size limit; null when sent whole. */
  @Prop({ type: [AnswerPieceSchema], default: null })
  pieces?: AnswerPiece[] | null;

  /** Set between the provider's answer and the completion write (see HeldResult). */
  @Prop({ type: HeldResultSchema, default: null })
  held_result?: HeldResult | null;
}
export const AnswerQueueStateSchema = SchemaFactory.createForClass(AnswerQueueState);

/** The queue fields of an answer that has just been uploaded. */
export function freshQueueState(queuedAt: Date): AnswerQueueState {
  return { queued_at: queuedAt, attempts: 0, next_attempt_at: null, claim_id: null, lease_until: null };
}
