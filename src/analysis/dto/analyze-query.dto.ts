import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';

export const MAX_ANALYZE_WAIT_SECONDS = 30;

export class AnalyzeQuery {
  @IsOptional()
  @Type(() => Number)
  @Max(MAX_ANALYZE_WAIT_SECONDS, {
    message: `wait must be a whole number of seconds from 0 to ${MAX_ANALYZE_WAIT_SECONDS}`,
  })
  @Min(0, { message: `wait must be a whole number of seconds from 0 to ${MAX_ANALYZE_WAIT_SECONDS}` })
  @IsInt({ message: `wait must be a whole number of seconds from 0 to ${MAX_ANALYZE_WAIT_SECONDS}` })
  wait?: number;

  /**
   * true: score an analyzed session again from its transcripts, with the model, instructions and
   * rubric configured now; the analysis it replaces stays in the export as previous_analysis.
   */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'rescore must be true or false' })
  rescore?: boolean;
}
