import { Inject, Injectable, Logger } from '@nestjs/common';
import { AnswerAudioStore } from '../audio/answer-audio.store.js';
import { untilStored } from '../common/backoff.js';
import { transcriptionSettings, type TranscriptionSettings } from '../config/settings.js';
import { Clock } from '../database/clock.js';
import type { TranscriptFields } from '../interview-record/answer.schema.js';
import type { SessionRecord } from '../interview-record/session.schema.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import { withSpan } from '../tracing/spans.js';
import { SessionWebhookRelay } from '../webhooks/session-webhook-relay.js';
import { WebhookOutbox } from '../webhooks/webhook-outbox.js';
import type { AnswerJob } from './answer-job.js';
import { LOST_CLAIM, SHUTTING_DOWN } from './job-scheduler.js';
import { ClaimProgress } from './queue/claim-progress.js';
import { TranscriptionQueue } from './queue/transcription-queue.js';
import { ClaimLost, type TranscriptionTask } from './recording/transcription-task.js';
import { classifyError, retryDelayMs, type TranscriptionFailure } from './recording/retry-policy.js';

/**
 * How an attempt at an answer ends, and what that leaves behind: a transcript kept, the audio
 * deleted and the answer completed; or a retry later, the work handed back on shutdown, a failure
 * for good. Each ending is one settling write fenced by the claim, with the webhook events it
 * causes, then relayed; a write that keeps what the provider answered is retried (untilStored),
 * never paid for twice.
 */
@Injectable()
export class AttemptOutcomes {
  /** Every line about transcription work carries the one context operators filter by. */
  private readonly logger = new Logger('TranscriptionWorker');

  constructor(
    private readonly queue: TranscriptionQueue,
    private readonly progress: ClaimProgress,
    private readonly audio: AnswerAudioStore,
    private readonly webhooks: WebhookOutbox,
    private readonly relay: SessionWebhookRelay,
    private readonly metrics: ServiceMetrics,
    private readonly clock: Clock,
    @Inject(transcriptionSettings.KEY) private readonly settings: TranscriptionSettings,
  ) {}

  /** The provider answered: keep its result on the answer first, so that no later step can cost a second call. */
  async transcribed(
    job: AnswerJob,
    task: TranscriptionTask,
    fields: TranscriptFields,
    signal: AbortSignal,
    startedAt: number,
  ): Promise<void> {
    const kept = await this.persist(job, 'keep the transcript of', signal, () =>
      this.progress.holdResult(job.sessionId, job.questionId, task.claimId, fields),
    );
    if (kept === undefined) return;
    if (kept === null) return this.dropped(job);
    await this.finish(job, task, fields, kept, signal, startedAt);
  }

  /**
   * The transcript is kept on the answer: delete the audio, then complete the answer (with the
   * webhook events this causes) in one write. A reader who sees the answer completed sees its
   * audio gone and its log line written; a database error is retried, never sent to the provider.
   */
  async finish(
    job: AnswerJob,
    task: TranscriptionTask,
    fields: TranscriptFields,
    snapshot: SessionRecord | null,
    signal: AbortSignal,
    startedAt: number,
  ): Promise<void> {
    // A crash after this delete leaves the answer processing with its transcript held: the next
    // claim completes it from there.
    await this.audio
      .delete(job.fileId)
      .catch((error: Error) =>
        this.logger.warn(`could not delete transcribed audio ${String(job.fileId)}: ${error.message}`),
      );
    this.logger.log(
      `${fields.no_speech ? 'heard no speech in' : 'transcribed'} session=${String(job.sessionId)} question=${job.questionId} attempt=${task.answer.attempts} in ${this.clock.nowMs() - startedAt} ms`,
    );
    // one stamp for every try, by which a try whose reply was lost is recognised as applied
    const completedAt = this.clock.now();
    const settled = await this.persist(job, 'complete', signal, () =>
      withSpan('transcription.complete', spanAttributes(job), () =>
        this.queue
          .complete(job.sessionId, job.questionId, task.claimId, fields, completedAt, snapshot, (after) =>
            this.webhooks.transcriptionsCompleted(after, this.clock.now()),
          )
          .catch((error: Error) => this.readBackCompletion(job, completedAt, error)),
      ),
    );
    if (settled === undefined) return;
    if (settled === null) return this.dropped(job);
    this.metrics.transcriptions.inc({ outcome: 'completed' });
    this.metrics.transcriptionSeconds.observe((this.clock.nowMs() - task.answer.queued_at.getTime()) / 1000);
    await this.relay.relayAfterWrite(settled);
  }

  /**
   * A completion write that failed may still have been applied (the error came after the database
   * took it): the session says. Applied, the attempt ends as completed; otherwise the error stands
   * and the write is tried again.
   */
  private async readBackCompletion(job: AnswerJob, completedAt: Date, error: Error): Promise<SessionRecord> {
    const applied = await this.queue.appliedCompletion(job.sessionId, job.questionId, completedAt).catch(() => null);
    if (!applied) throw error;
    this.logger.warn(`the completion of ${job.key} answered ${error.message}, but the session holds it: going on`);
    return applied;
  }

  private dropped(job: AnswerJob): void {
    this.metrics.transcriptions.inc({ outcome: 'dropped' });
    this.logger.log(`dropped the transcript of ${job.key}: the answer changed while it was transcribed`);
  }

  /**
   * A write of a finished transcription, run until the database takes it (untilStored): a blip or a
   * lock timeout must not cost a second provider call. Undefined when the job was told to stop first
   * (its claim gone, or shutting down: the next holder finds what was kept).
   */
  private persist<T>(job: AnswerJob, what: string, signal: AbortSignal, write: () => Promise<T>) {
    return untilStored(write, signal, (error, attempt, delay) =>
      this.logger.warn(`could not ${what} ${job.key} (try ${attempt}): ${error.message}; trying again in ${delay} ms`),
    );
  }

  /** The attempt threw: stop (claim gone), hand back (shutting down), retry later, or fail for good. */
  async threw(job: AnswerJob, task: TranscriptionTask, signal: AbortSignal, error: unknown): Promise<void> {
    if (signal.reason === LOST_CLAIM || error instanceof ClaimLost) {
      this.logger.log(`stopped ${job.key}: its claim was taken over or the answer was replaced`);
      return;
    }
    if (signal.reason === SHUTTING_DOWN) {
      this.metrics.transcriptions.inc({ outcome: 'released' });
      await this.queue
        .handBack(job.sessionId, job.questionId, task.claimId, this.clock.now())
        .catch((e: Error) => this.logger.warn(`could not release ${job.key}: ${e.message}; its lease will lapse`));
      return;
    }
    const failure = classifyError(error);
    const attempts = task.answer.attempts;
    if (failure.kind === 'transient' && attempts < this.settings.maxAttempts) {
      const delay = retryDelayMs(failure, attempts, this.settings.retry);
      const now = this.clock.now();
      this.logger.warn(`attempt ${attempts} of ${job.key} failed, retrying in ${delay} ms: ${failure.logText}`);
      const settled = await this.queue
        .retryLater(job.sessionId, job.questionId, task.claimId, failure.message, new Date(now.getTime() + delay), now)
        .catch((e: Error) => {
          this.logger.warn(`could not schedule a retry of ${job.key}: ${e.message}; its lease will lapse`);
          return null;
        });
      if (settled) {
        this.metrics.transcriptions.inc({ outcome: 'retry' });
        this.metrics.transcriptionRetries.inc();
      }
      return;
    }
    await this.fail(
      job,
      task,
      failure.kind === 'transient' ? failure.within(`Gave up after ${attempts} attempts: `) : failure,
    );
  }

  /** Failed for good, with the webhook event this causes. */
  async fail(job: AnswerJob, task: TranscriptionTask, failure: TranscriptionFailure | string): Promise<void> {
    const message = typeof failure === 'string' ? failure : failure.message;
    this.logger.warn(`transcription of ${job.key} failed: ${typeof failure === 'string' ? failure : failure.logText}`);
    const settled = await this.queue
      .fail(job.sessionId, job.questionId, task.claimId, message, this.clock.now(), task.session, (after) =>
        this.webhooks.transcriptionFailed(after, job.questionId, this.clock.now()),
      )
      .catch((e: Error) => {
        this.logger.warn(`could not record the failure of ${job.key}: ${e.message}; its lease will lapse`);
        return null;
      });
    if (!settled) return;
    this.metrics.transcriptions.inc({ outcome: 'failed' });
    await this.relay.relayAfterWrite(settled);
  }
}

/** What every span of an answer's transcription is tagged with. */
export function spanAttributes(job: AnswerJob) {
  return { 'interview.session_id': String(job.sessionId), 'interview.question_id': job.questionId };
}
