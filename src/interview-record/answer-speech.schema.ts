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

/** How the speech was found: the detector and the settings it ran with (speech-measure.ts). */
@Schema({ _id: false })
export class SpeechDetectorRecord {
  @Prop({ required: true })
  name: string;

  @Prop({ required: true })
  mode: number;

  @Prop({ required: true })
  high_pass_hz: number;

  @Prop({ required: true })
  level_gate_db: number;

  @Prop({ required: true })
  noise_margin_db: number;

  @Prop({ required: true })
  min_speech_seconds: number;

  @Prop({ required: true })
  min_pause_seconds: number;
}
export const SpeechDetectorRecordSchema = SchemaFactory.createForClass(SpeechDetectorRecord);

/** How much speech a recording held, measured before transcription (seconds, to 0.01). */
@Schema({ _id: false })
export class AnswerSpeech {
  @Prop({ required: true })
  duration_seconds: number;

  /** From the first to the last speech, minus the pauses. */
  @Prop({ required: true })
  speech_seconds: number;

  /** Every silence of at least the detector's min_pause_seconds between the first and the last speech. */
  @Prop({ type: [SpeechPauseSchema], required: true })
  pauses: SpeechPause[];

  /** Absent on answers measured before the voice-activity detector (by ffmpeg's silencedetect at -30 dBFS). */
  @Prop({ type: SpeechDetectorRecordSchema })
  detector?: SpeechDetectorRecord;
}
export const AnswerSpeechSchema = SchemaFactory.createForClass(AnswerSpeech);
