import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export const LISTABLE_STATUSES = ['in_progress', 'analyzing', 'analyzed'] as const;

export class ListSessionsQuery {
  @IsOptional()
  @Type(() => Number)
  @Max(100, { message: 'limit must be a whole number from 1 to 100' })
  @Min(1, { message: 'limit must be a whole number from 1 to 100' })
  @IsInt({ message: 'limit must be a whole number from 1 to 100' })
  limit?: number;

  @IsOptional()
  @MaxLength(200, { message: 'cursor is not valid; pass next_cursor from the previous page' })
  @IsString({ message: 'cursor is not valid; pass next_cursor from the previous page' })
  cursor?: string;

  @IsOptional()
  @IsIn(LISTABLE_STATUSES, { message: `status must be one of ${LISTABLE_STATUSES.join(', ')}` })
  status?: (typeof LISTABLE_STATUSES)[number];
}
