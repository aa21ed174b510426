import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { RubricInputDto } from '../../analysis/dto/rubric-input.dto.js';
import { QUESTION_ID_PATTERN, QUESTION_ID_RULE } from '../../common/ids.js';

export class QuestionInputDto {
  // class-validator runs the decorators bottom-up: the type check sits last so it speaks first.
  @IsOptional()
  @Matches(QUESTION_ID_PATTERN, { message: `question_id ${QUESTION_ID_RULE}` })
  @IsString({ message: 'question_id must be a string' })
  question_id?: string;

  @MaxLength(5000, { message: 'text must be at most 5000 characters' })
  @IsNotEmpty({ message: 'text must not be empty' })
  @IsString({ message: 'text must be a string' })
  text: string;

  @IsOptional()
  @MaxLength(20000, { message: 'model_answer must be at most 20000 characters' })
  @IsString({ message: 'model_answer must be a string' })
  model_answer?: string;

  /** This question's rubric, instead of the session's (or the default). */
  @IsOptional()
  @ValidateNested()
  @Type(() => RubricInputDto)
  @IsObject({ message: 'rubric must be an object { criteria: [...] }' })
  rubric?: RubricInputDto;
}

export class CreateSessionDto {
  @IsOptional()
  @MaxLength(200, { message: 'title must be at most 200 characters' })
  @IsString({ message: 'title must be a string' })
  title?: string;

  /**
   * https URL that receives signed events about this session (see the README's webhooks section).
   * @example https://example.com/hooks/interviews
   */
  @IsOptional()
  @MaxLength(2048, { message: 'webhook_url must be at most 2048 characters' })
  @IsString({ message: 'webhook_url must be a string' })
  webhook_url?: string;
  @IsOptional()
  @Matches(/^[a-z]{2}$/, { message: 'language must be an ISO-639-1 code of two lowercase letters, such as en or de' })
  @IsString({ message: 'language must be a string' })
  language?: string;

  /** How every answer is scored unless its question has a rubric; without one, the default rubric. */
  @IsOptional()
  @ValidateNested()
  @Type(() => RubricInputDto)
  @IsObject({ message: 'rubric must be an object { criteria: [...] }' })
  rubric?: RubricInputDto;

  @ValidateNested({ each: true })
  @Type(() => QuestionInputDto)
  @ArrayMaxSize(200, { message: 'questions must contain at most 200 questions' })
  @ArrayMinSize(1, { message: 'questions must contain at least one question' })
  @IsArray({ message: 'questions must be an array of { question_id?, text, model_answer? }' })
  questions: QuestionInputDto[];
}
