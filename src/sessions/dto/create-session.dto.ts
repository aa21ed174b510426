import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsNotEmpty,
  IsNotIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { RubricInputDto } from './rubric-input.dto.js';
import { MAX_VOCABULARY_TERMS } from '../../common/hint-terms.js';
import { IsVocabulary } from './vocabulary-terms.js';
import {
  QUESTION_ID_PATTERN,
  QUESTION_ID_RULE,
  RESERVED_QUESTION_ID_RULE,
  RESERVED_QUESTION_IDS,
} from '../../common/ids.js';

export class QuestionInputDto {
  // class-validator runs the decorators bottom-up: the type check sits last so it speaks first.
  @IsOptional()
  @IsNotIn(RESERVED_QUESTION_IDS, { message: `question_id ${RESERVED_QUESTION_ID_RULE}` })
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
  /**
   * Terms the candidate is likely to say (product names, jargon), sent to the transcription
   * provider as hints before those found in the text and model answer. Each is one line of at most
   * 60 characters, without "<", ">" or control characters (what the providers accept).
   * @example ["idempotent", "GridFS", "Kubernetes"]
   */
  @IsOptional()
  @IsVocabulary()
  @IsString({ each: true, message: 'vocabulary must be an array of strings' })
  @ArrayMaxSize(MAX_VOCABULARY_TERMS, { message: `vocabulary must contain at most ${MAX_VOCABULARY_TERMS} terms` })
  @IsArray({ message: 'vocabulary must be an array of strings' })
  vocabulary?: string[];
}

export class CreateSessionDto {
  @IsOptional()
  @MaxLength(200, { message: 'title must be at most 200 characters' })
  @IsString({ message: 'title must be a string' })
  title?: string;

  /**
   * https URL that receives signed events about this session (see docs/api.md, "Webhooks").
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
  /**
   * For a bilingual interview: the languages answers may be in (ISO-639-1), sent to models that take
   * a list; \`language\`, when also set, wins.
   * @example ["en", "de"]
   */
  @IsOptional()
  @Matches(/^[a-z]{2}$/, {
    each: true,
    message: 'languages must be ISO-639-1 codes of two lowercase letters, such as en',
  })
  @IsString({ each: true, message: 'languages must be an array of strings' })
  @ArrayMaxSize(5, { message: 'languages must contain at most 5 codes' })
  @ArrayMinSize(1, { message: 'languages must contain at least one code when given' })
  @IsArray({ message: 'languages must be an array of ISO-639-1 codes' })
  languages?: string[];

  @ValidateNested({ each: true })
  @Type(() => QuestionInputDto)
  @ArrayMaxSize(200, { message: 'questions must contain at most 200 questions' })
  @ArrayMinSize(1, { message: 'questions must contain at least one question' })
  @IsArray({ message: 'questions must be an array of { question_id?, text, model_answer? }' })
  questions: QuestionInputDto[];
}
