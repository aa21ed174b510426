import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/** One thing an answer is judged on, with its weight and (optionally) what each level 0–4 means. */
@Schema({ _id: false })
export class RubricCriterion {
  @Prop({ required: true })
  id: string;

  @Prop({ required: true })
  name: string;

  @Prop({ default: '' })
  description: string;

  @Prop({ required: true })
  weight: number;

  /** Five descriptions, of levels 0 to 4; empty when the rubric gives none. */
  @Prop({ type: [String], default: [] })
  levels: string[];
}
export const RubricCriterionSchema = SchemaFactory.createForClass(RubricCriterion);

@Schema({ _id: false })
export class Rubric {
  @Prop({ type: [RubricCriterionSchema], required: true })
  criteria: RubricCriterion[];
}
export const RubricSchema = SchemaFactory.createForClass(Rubric);
