import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/** A silence between the first and the last speech of a recording, in seconds from its start. */
@Schema({ _id: false })
export class SpeechPause {
  @Prop({ required: true })
  start: number;

  @Prop({ required: true })
  end: number;
}
export const SpeechPauseSchema = SchemaFactory.createForClass(SpeechPause);

/** How much speech a recording held, measured before transcription (seconds, to 0.01). */
@Schema({ _id: false })
export class AnswerSpeech {
  @Prop({ required: true })
  duration_seconds: number;

  /** From the first to the last speech, minus the pauses. */
  @Prop({ required: true })
  speech_seconds: number;

  /** Every silence of at least 0.25 s between the first and the last speech. */
  @Prop({ type: [SpeechPauseSchema], required: true })
  pauses: SpeechPause[];
}
export const AnswerSpeechSchema = SchemaFactory.createForClass(AnswerSpeech);
