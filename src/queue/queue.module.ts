import { Module } from '@nestjs/common';
import { SessionDataModule } from '../sessions/session-data.module.js';
import { QueueGauges } from './queue-gauges.js';
import { QueueStatsReader } from './queue-stats.js';

/** Reading the transcription queue: for /metrics on every instance. */
@Module({
  imports: [SessionDataModule],
  providers: [QueueStatsReader, QueueGauges],
  exports: [QueueStatsReader],
})
export class QueueModule {}
