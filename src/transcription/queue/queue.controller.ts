import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../common/api-problems.decorator.js';
import { QueueStats } from './queue-stats.dto.js';
import { QueueStatsReader } from './queue-stats.js';

@ApiTags('queue')
@ApiBearerAuth()
@Controller('api/queue')
export class QueueController {
  constructor(private readonly reader: QueueStatsReader) {}

  /** Answers waiting for or in transcription across all sessions and instances (no user data). */
  @Get('stats')
  @ApiOkResponse({ type: QueueStats, description: 'Counts by status and the age of the oldest waiting answer.' })
  @ApiProblems(401)
  stats(): Promise<QueueStats> {
    return this.reader.read();
  }
}
