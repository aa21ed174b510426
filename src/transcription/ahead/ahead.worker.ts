import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { UPLOAD_GREW, type UploadGrewEvent } from '../../audio/upload-growth.js';
import { transcriptionSettings, type TranscriptionSettings } from '../../config/settings.js';
import { Clock } from '../../database/clock.js';
import { JobScheduler } from '../job-scheduler.js';
import { TranscriptionProvider } from '../transcribers/transcription-provider.js';
import { aheadJob, TranscribeAheadJob, type AheadJob } from './transcribe-ahead.job.js';

/**
 * Transcribing ahead on this instance: TRANSCRIPTION_AHEAD_CONCURRENCY growing uploads at a time,
 * each as its PATCHes arrive here (UPLOAD_GREW). Off when TRANSCRIPTION_AHEAD_SECONDS=0 or without
 * a provider; on ROLE=api instances nothing transcribes, so uploads they receive are not
 * transcribed ahead (the answer is transcribed whole once complete).
 */
@Injectable()
export class AheadWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly scheduler: JobScheduler<AheadJob>;
  private readonly on: boolean;

  constructor(
    private readonly job: TranscribeAheadJob,
    private readonly provider: TranscriptionProvider,
    private readonly clock: Clock,
    @Inject(transcriptionSettings.KEY) settings: TranscriptionSettings,
  ) {
    this.on = settings.ahead.seconds > 0;
    this.scheduler = new JobScheduler(AheadWorker.name, job, clock, {
      concurrency: settings.ahead.concurrency,
      pollMs: 3_600_000, // nothing to scan for: PATCHes say when to look
      renewMs: Math.floor(settings.leaseMs / 3),
      graceMs: settings.shutdownGraceMs,
    });
  }

  onApplicationBootstrap(): void {
    if (this.on) this.scheduler.start();
  }

  @OnEvent(UPLOAD_GREW)
  onUploadGrew(event: UploadGrewEvent): void {
    if (!this.on || !this.provider.configured || !this.job.worthALook(event)) return;
    this.scheduler.offer(aheadJob(event, this.clock.now()));
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.scheduler.stop();
  }
}
