import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { QUESTION_ID_PATTERN, QUESTION_ID_RULE } from '../../common/ids.js';

export class QuestionInputDto {
  @IsOptional()
  @IsString({ message: 'question_id must be a string' })
  @Matches(QUESTION_ID_PATTERN, { message: `question_id ${QUESTION_ID_RULE}` })
  question_id?: string;

  @IsString({ message: 'text must be a string' })
  @IsNotEmpty({ message: 'text must not be empty' })
  @MaxLength(5000, { message: 'text must be at most 5000 characters' })
  text: string;

  @IsOptional()
  @IsString({ message: 'model_answer must be a string' })
  @MaxLength(20000, { message: 'model_answer must be at most 20000 characters' })
  model_answer?: string;
}

export class CreateSessionDto {
  @IsOptional()
  @IsString({ message: 'title must be a string' })
  @MaxLength(200, { message: 'title must be at most 200 characters' })
  title?: string;

  @IsArray({ message: 'questions must be an array of { question_id?, text, model_answer? }' })
  @ArrayMinSize(1, { message: 'questions must contain at least one question' })
  @ArrayMaxSize(200, { message: 'questions must contain at most 200 questions' })
  @ValidateNested({ each: true })
  @Type(() => QuestionInputDto)
  questions: QuestionInputDto[];
}
