import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { ANSWER_QUEUED, type AnswerQueuedEvent } from '../interview-record/answer-events.js';
import { transcriptionSettings, type TranscriptionSettings } from '../config/settings.js';
import { Clock } from '../database/clock.js';
import { JobScheduler } from './job-scheduler.js';
import { answerJob, type AnswerJob } from './answer-job.js';
import { TranscribeAnswerJob } from './transcribe-answer.job.js';
import { sweepWorkDirectories } from './recording/work-directory.js';

/**
 * Transcription on this instance: a scheduler running TranscribeAnswerJob, TRANSCRIPTION_CONCURRENCY
 * transcribers at a time, and as many more answers (of other sessions) being claimed and measured
 * before their turn or stored after it, so that the provider is not kept waiting on the database. It hears of this process's uploads and retries at once (ANSWER_QUEUED) and of every
 * other due answer by scanning every TRANSCRIPTION_POLL_MS; the session documents hold the state.
 */
@Injectable()
export class TranscriptionWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly scheduler: JobScheduler<AnswerJob>;

  constructor(
    job: TranscribeAnswerJob,
    clock: Clock,
    @Inject(transcriptionSettings.KEY) settings: TranscriptionSettings,
  ) {
    this.scheduler = new JobScheduler(TranscriptionWorker.name, job, clock, {
      concurrency: settings.concurrency,
      ahead: settings.concurrency,
      pollMs: settings.pollMs,
      renewMs: Math.floor(settings.leaseMs / 3),
      graceMs: settings.shutdownGraceMs,
    });
  }

  /** Clears what crashed jobs left in the temp directory before any job of this process starts. */
  async onApplicationBootstrap(): Promise<void> {
    await sweepWorkDirectories();
    this.scheduler.start();
  }

  @OnEvent(ANSWER_QUEUED)
  onAnswerQueued(event: AnswerQueuedEvent): void {
    this.scheduler.offer(answerJob(event));
  }

  /** Stop taking jobs, give running ones SHUTDOWN_GRACE_MS to finish, then hand the rest back. */
  beforeApplicationShutdown(): Promise<void> {
    return this.scheduler.stop();
  }
}
