import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

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
