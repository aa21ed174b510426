import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';

export const CRITERION_ID_PATTERN = /^[a-z][a-z0-9_]{0,39}$/;

export class RubricCriterionInputDto {
  /**
   * Unique within the rubric: lowercase letters, digits and underscores, starting with a letter.
   * @example correctness
   */
  @Matches(CRITERION_ID_PATTERN, {
    message: 'criterion id must be 1-40 lowercase letters, digits or underscores, starting with a letter',
  })
  @IsString({ message: 'criterion id must be a string' })
  id: string;

  /** Shown to the candidate; the id when absent. */
  @IsOptional()
  @MaxLength(100, { message: 'criterion name must be at most 100 characters' })
  @IsString({ message: 'criterion name must be a string' })
  name?: string;

  /** What the criterion judges, as the scorer is told. */
  @IsOptional()
  @MaxLength(1000, { message: 'criterion description must be at most 1000 characters' })
  @IsString({ message: 'criterion description must be a string' })
  description?: string;

  /** Relative weight: the answer's score is the weighted mean of its criteria. */
  @Max(100, { message: 'criterion weight must be a number greater than 0 and at most 100' })
  @Min(0.01, { message: 'criterion weight must be a number greater than 0 and at most 100' })
  @IsNumber(
    { allowNaN: false, allowInfinity: false },
    { message: 'criterion weight must be a number greater than 0 and at most 100' },
  )
  weight: number;

  /** Exactly five descriptions, of levels 0 (worst) to 4 (best), anchoring the scorer. */
  @IsOptional()
  @MaxLength(500, { each: true, message: 'each level description must be at most 500 characters' })
  @IsString({ each: true, message: 'each level description must be a string' })
  @ArrayMaxSize(5, { message: 'levels must describe exactly five levels, 0 to 4' })
  @ArrayMinSize(5, { message: 'levels must describe exactly five levels, 0 to 4' })
  @IsArray({ message: 'levels must be an array of five strings, levels 0 to 4' })
  levels?: string[];
}

/** How answers are scored: criteria with weights (the default rubric applies without one). */
export class RubricInputDto {
  @ValidateNested({ each: true })
  @Type(() => RubricCriterionInputDto)
  @ArrayMaxSize(10, { message: 'a rubric has at most 10 criteria' })
  @ArrayMinSize(1, { message: 'a rubric needs at least one criterion' })
  @IsArray({ message: 'rubric.criteria must be an array of { id, weight, name?, description?, levels? }' })
  criteria: RubricCriterionInputDto[];
}
