import { Module } from '@nestjs/common';
import { InterviewRecordModule } from '../../interview-record/interview-record.module.js';
import { ClaimProgress } from './claim-progress.js';
import { QueueGauges } from './queue-gauges.js';
import { QueueStatsReader } from './queue-stats.js';
import { TranscriptionQueue } from './transcription-queue.js';
import { WorkIndex } from './work-index.js';

/** The transcription queue in the session documents: claims, leases, due work and its statistics. */
@Module({
  imports: [InterviewRecordModule],
  providers: [TranscriptionQueue, ClaimProgress, WorkIndex, QueueStatsReader, QueueGauges],
  exports: [TranscriptionQueue, ClaimProgress, WorkIndex, QueueStatsReader],
})
export class QueueModule {}
