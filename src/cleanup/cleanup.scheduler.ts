import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { cleanupSettings, type CleanupSettings } from '../config/settings.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import { AudioCleanup, type CleanupReport } from './audio-cleanup.js';

/** Runs the audio cleanup on CLEANUP_CRON (UTC); the lease keeps it to one instance per run. */
@Injectable()
export class CleanupScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger(CleanupScheduler.name);

  constructor(
    private readonly cleanup: AudioCleanup,
    private readonly registry: SchedulerRegistry,
    @Inject(cleanupSettings.KEY) private readonly settings: CleanupSettings,
    private readonly metrics: ServiceMetrics,
  ) {}

  private count(report: CleanupReport): void {
    this.metrics.cleanupRuns.inc({ outcome: report.skipped ? 'skipped' : 'completed' });
    if (report.skipped) return;
    const deleted = this.metrics.cleanupDeleted;
    deleted.inc({ kind: 'files' }, report.files_deleted);
    deleted.inc({ kind: 'orphan_files' }, report.orphan_files);
    deleted.inc({ kind: 'orphan_chunk_groups' }, report.orphan_chunk_groups);
    deleted.inc({ kind: 'expired_failed_answers' }, report.expired_failed_answers);
    deleted.inc({ kind: 'sessions_erased' }, report.sessions_erased);
    deleted.inc({ kind: 'expired_uploads' }, report.expired_uploads);
    deleted.inc({ kind: 'orphan_webhook_deliveries' }, report.orphan_webhook_deliveries);
    deleted.inc({ kind: 'orphan_transcripts_ahead' }, report.orphan_transcripts_ahead);
    this.metrics.cleanupDeletedBytes.inc(report.bytes_deleted);
  }

  onApplicationBootstrap(): void {
    const expression = this.settings.cron;
    const job = CronJob.from({
      cronTime: expression,
      timeZone: 'UTC',
      waitForCompletion: true,
      onTick: async () => {
        try {
          this.count(await this.cleanup.run());
        } catch (error) {
          this.metrics.cleanupRuns.inc({ outcome: 'error' });
          this.logger.error(`audio cleanup failed: ${(error as Error).message}; the next run starts over`);
        }
      },
    });
    this.registry.addCronJob('audio-cleanup', job);
    job.start();
    this.logger.log(`audio cleanup scheduled "${expression}" (UTC)`);
  }
}
