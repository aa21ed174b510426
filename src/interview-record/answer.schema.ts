import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Types } from 'mongoose';
import { AnswerQueueState, AnswerQueueStateSchema } from './answer-queue-state.schema.js';
import { AnswerSpeech, AnswerSpeechSchema } from './answer-speech.schema.js';
import { TranscriptSegment, TranscriptSegmentSchema } from './transcript-segment.schema.js';

export const TRANSCRIPTION_STATUSES = ['queued', 'processing', 'completed', 'failed'] as const;
export type TranscriptionStatus = (typeof TRANSCRIPTION_STATUSES)[number];

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

  /** Uploaded resumably (tus): some of it may have been transcribed while it was uploaded (transcripts_ahead). */
  @Prop({ type: Boolean, default: undefined })
  resumable?: boolean;
}
export const AnswerAudioSchema = SchemaFactory.createForClass(AnswerAudio);

/**
 * The transcription queue's fields (claim, lease, retry time, pieces) are part of every answer: their
 * own schema class declares them, AnswerSchema adds that schema, and this merge gives the type.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface Answer extends AnswerQueueState {}

/**
 * One recorded answer. Its transcription_status is the source of truth for the background job;
 * the queue's own fields are declared in AnswerQueueState.
 */
@Schema({ _id: false })
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class Answer {
  /** Changes with every upload, so an old job can never be mistaken for the current one. */
  @Prop({ required: true })
  id: string;

  @Prop({ required: true })
  question_id: string;

  /** The audio in GridFS; null once transcribed (the audio is then deleted). */
  @Prop({ type: Types.ObjectId, default: null })
  gridfs_file_id: Types.ObjectId | null;

  @Prop({ type: String, required: true, enum: TRANSCRIPTION_STATUSES })
  transcription_status: TranscriptionStatus;

  @Prop({ type: String, default: null })
  transcript: string | null;

  @Prop({ type: Date, default: null })
  transcribed_at: Date | null;

  @Prop({ type: String, default: null })
  transcription_error: string | null;

  @Prop({ required: true })
  created_at: Date;

  @Prop({ required: true })
  updated_at: Date;

  @Prop({ type: AnswerAudioSchema, required: true })
  audio: AnswerAudio;

  /** The id of the upload request (X-Request-Id); the transcription job logs under it too. */
  @Prop({ type: String, default: null })
  request_id?: string | null;

  /** The upload's trace (W3C traceparent), so that its transcription joins it; null without tracing. */
  @Prop({ type: String, default: null })
  trace_context?: string | null;

  /** Language the provider detected (or was told), as the provider names it. */
  @Prop({ type: String, default: null })
  language?: string | null;

  @Prop({ type: Number, default: null })
  duration_seconds?: number | null;

  /** Timed stretches of the transcript, when the provider returns them (whisper-1). */
  @Prop({ type: [TranscriptSegmentSchema], default: null })
  segments?: TranscriptSegment[] | null;

  /** The transcription provider was asked to keep filler words ("um", "uh"), so delivery counts them. */
  @Prop({ type: Boolean, default: undefined })
  disfluencies_kept?: boolean;
  /** The speech measured before transcription; null when the speech guard is off or ffmpeg missing. */
  @Prop({ type: AnswerSpeechSchema, default: null })
  speech?: AnswerSpeech | null;

  /** The provider's text was longer than TRANSCRIPT_MAX_BYTES (or the session's share) and is stored cut. */
  @Prop({ type: Boolean, default: undefined })
  transcript_truncated?: boolean;

  /** Segments past the answer's byte budget were not stored. */
  @Prop({ type: Boolean, default: undefined })
  segments_truncated?: boolean;

  /** Measured pauses past the answer's byte budget were not stored. */
  @Prop({ type: Boolean, default: undefined })
  pauses_truncated?: boolean;

  /** The recording held no speech: completed without a provider call, with an empty transcript. */
  @Prop({ default: false })
  no_speech?: boolean;

  /**
   * The provider refused the interview's hints (the question's terms, the session's language), so
   * the recording was transcribed without them: its domain terms may be spelled less well.
   */
  @Prop({ type: Boolean, default: undefined })
  transcribed_without_hints?: boolean;

  /** Little speech, and a transcript that is a known silence hallucination: not the candidate's words. */
  @Prop({ default: false })
  suspect_hallucination?: boolean;

  /** 0–100 by pieces transcribed, while a recording split into pieces is worked on. */
  @Prop({ type: Number, default: null })
  progress?: number | null;

  /** Set when the retention cleanup deleted the audio of a failed answer; retry then answers 410. */
  @Prop({ type: Date, default: null })
  audio_expired_at?: Date | null;
}
export const AnswerSchema = SchemaFactory.createForClass(Answer).add(AnswerQueueStateSchema);

/** What a finished transcription stores on its answer. */
export interface TranscriptFields {
  transcript: string;
  language: string | null;
  duration_seconds: number | null;
  segments: { start: number; end: number; text: string }[] | null;
  speech: AnswerSpeech | null;
  no_speech: boolean;
  suspect_hallucination: boolean;
  /** The provider was asked to keep filler words (disfluency-prompt.ts). */
  disfluencies_kept?: boolean;
  /** The provider refused the interview's hints; the recording was transcribed without them. */
  transcribed_without_hints?: boolean;
  /** The provider's text was longer than the answer's budget and is stored cut (transcript-bounds.ts). */
  transcript_truncated?: boolean;
  /** Segments past the answer's budget were not stored. */
  segments_truncated?: boolean;
  /** Measured pauses past the answer's budget were not stored (delivery then counts only those kept). */
  pauses_truncated?: boolean;
}
