import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

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
}
