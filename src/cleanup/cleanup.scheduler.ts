import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import type { EnvironmentVariables } from '../config/environment.js';
import { AudioCleanup } from './audio-cleanup.js';

/** Runs the audio cleanup on CLEANUP_CRON (UTC); the lease keeps it to one instance per run. */
@Injectable()
export class CleanupScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger(CleanupScheduler.name);

  constructor(
    private readonly cleanup: AudioCleanup,
    private readonly registry: SchedulerRegistry,
    private readonly config: ConfigService<EnvironmentVariables, true>,
  ) {}

  onApplicationBootstrap(): void {
    const expression = this.config.get('CLEANUP_CRON', { infer: true });
    const job = CronJob.from({
      cronTime: expression,
      timeZone: 'UTC',
      waitForCompletion: true,
      onTick: async () => {
        try {
          await this.cleanup.run();
        } catch (error) {
          this.logger.error(`audio cleanup failed: ${(error as Error).message}; the next run starts over`);
        }
      },
    });
    this.registry.addCronJob('audio-cleanup', job);
    job.start();
    this.logger.log(`audio cleanup scheduled "${expression}" (UTC)`);
  }
}
