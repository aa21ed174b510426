import { Inject, Injectable, Logger } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { AnswerAudioStore } from '../audio/answer-audio.store.js';
import { transcriptionSettings, type TranscriptionSettings } from '../config/settings.js';
import { untilStored } from '../common/backoff.js';
import { NO_PROVIDER } from '../common/openai-client.js';
import { Clock } from '../database/clock.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import { inTrace, withSpan } from '../tracing/spans.js';
import { SessionWebhookRelay } from '../webhooks/session-webhook-relay.js';
import type { SessionRecord } from '../interview-record/session.schema.js';
import { WebhookOutbox } from '../webhooks/webhook-outbox.js';
import { LOST_CLAIM, SHUTTING_DOWN, type JobSource, type SchedulableJob, type StartedJob } from './job-scheduler.js';
import { AnswerTranscripts } from './answer-transcripts.js';
import { ClaimProgress } from './queue/claim-progress.js';
import { TranscriptionQueue, type TranscriptFields } from './queue/transcription-queue.js';
import { WorkIndex, type DueAnswer } from './queue/work-index.js';
import { classifyError, retryDelayMs, type TranscriptionFailure } from './retry-policy.js';
import { interviewKeywords } from './transcribers/interview-hints.js';
import { ClaimLost, type InterviewHints, type TranscriptionTask } from './recording/transcription-task.js';
import { TranscriptionProvider } from './transcribers/transcription-provider.js';

/** One answer's transcription, as the scheduler sees it. */
export type AnswerJob = DueAnswer & SchedulableJob;

export function answerJob(due: DueAnswer): AnswerJob {
  return { ...due, key: `${String(due.sessionId)}/${due.questionId}/${String(due.fileId)}`, order: due.queuedAt };
}

/**
 * Transcribing one answer: claim it, pick a transcriber (sent whole, or compressed and split when
 * over the provider's size limit), store the transcript, delete the audio; or, when it fails, try
 * again later, hand it back on shutdown, or fail it for good. The claim fences every write: a job
 * whose claim was taken over or whose answer was replaced writes nothing.
 */
@Injectable()
export class TranscribeAnswerJob implements JobSource<AnswerJob> {
  /** Every line about transcription work carries the one context operators filter by. */
  private readonly logger = new Logger('TranscriptionWorker');

  constructor(
    private readonly queue: TranscriptionQueue,
    private readonly progress: ClaimProgress,
    private readonly workIndex: WorkIndex,
    private readonly audio: AnswerAudioStore,
    private readonly transcripts: AnswerTranscripts,
    private readonly provider: TranscriptionProvider,
    private readonly webhooks: WebhookOutbox,
    private readonly relay: SessionWebhookRelay,
    private readonly metrics: ServiceMetrics,
    private readonly log: PinoLogger,
    private readonly clock: Clock,
    @Inject(transcriptionSettings.KEY) private readonly settings: TranscriptionSettings,
  ) {}

  async findDue(now: Date): Promise<AnswerJob[]> {
    const due = (await this.workIndex.findDueAnswers(now)).map(answerJob);
    if (this.provider.configured) return due;
    for (const job of due) await this.waitForProvider(job);
    return [];
  }

  /**
   * Its own logging context, with the upload's request id, in the upload's trace: the job outlives
   * that request, and its spans (claim, attempt, provider call, completion write) join its trace.
   */
  inContext(job: AnswerJob, work: () => Promise<void>): Promise<void> {
    return inTrace(job.traceContext, () =>
      this.log.runInContext(work, { bindings: { req_id: job.requestId ?? undefined, job: job.key } }),
    );
  }

  async claim(job: AnswerJob): Promise<StartedJob | null> {
    if (!this.provider.configured) return this.waitForProvider(job);
    const claimId = randomUUID();
    const now = this.clock.now();
    const claimed = await withSpan('transcription.claim', this.spanAttributes(job), (span) =>
      this.queue.claim(job.sessionId, job.questionId, job.fileId, claimId, this.leaseFrom(now), now).then((c) => {
        span.setAttribute('transcription.claimed', c !== null);
        return c;
      }),
    ).catch((error: Error) => {
      this.logger.warn(`could not claim ${job.key}: ${error.message}; it stays queued`);
      return null;
    });
    if (!claimed) return null;
    const hints: InterviewHints = {
      keywords: claimed.question ? interviewKeywords(claimed.question) : [],
      language: claimed.sessionLanguage,
      languages: claimed.sessionLanguages,
    };
    const task: TranscriptionTask = { ...job, claimId, answer: claimed.answer, hints, session: claimed.session };
    return {
      renew: () => this.queue.renewLease(job.sessionId, job.questionId, claimId, this.leaseFrom(this.clock.now())),
      run: (signal) =>
        withSpan(
          'transcription.attempt',
          { ...this.spanAttributes(job), 'transcription.attempt': task.answer.attempts },
          () => this.run(job, task, signal),
        ),
    };
  }

  /** Without a provider nothing is claimed: the answer stays queued and says why (once). */
  private async waitForProvider(job: AnswerJob): Promise<null> {
    const noted = await this.queue
      .noteWaiting(job.sessionId, job.questionId, job.fileId, NO_PROVIDER, this.clock.now())
      .catch(() => false);
    if (noted) this.logger.warn(`${job.key} waits: ${NO_PROVIDER}`);
    return null;
  }

  private spanAttributes(job: AnswerJob) {
    return { 'interview.session_id': String(job.sessionId), 'interview.question_id': job.questionId };
  }

  private leaseFrom(now: Date): Date {
    return new Date(now.getTime() + this.settings.leaseMs);
  }

  private async run(job: AnswerJob, task: TranscriptionTask, signal: AbortSignal): Promise<void> {
    const { answer } = task;
    if (answer.held_result) {
      // an earlier attempt got the transcript but could not complete the answer: no provider call
      const { text, ...rest } = answer.held_result;
      const fields = this.transcripts.bounded(task, {
        speech: null,
        no_speech: false,
        suspect_hallucination: false,
        ...rest,
        transcript: text,
      });
      await this.finish(job, task, fields, null, signal, this.clock.nowMs());
      return;
    }
    if (answer.attempts > this.settings.maxAttempts) {
      await this.fail(job, task, `Gave up after ${this.settings.maxAttempts} attempts; the last one was interrupted.`);
      return;
    }
    const startedAt = this.clock.nowMs();
    let fields: TranscriptFields;
    try {
      fields = await this.transcripts.of(task, signal);
    } catch (error) {
      await this.handleFailure(job, task, signal, error);
      return;
    }
    fields = this.transcripts.bounded(task, fields);
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
  private async finish(
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
    const settled = await this.persist(job, 'complete', signal, () =>
      withSpan('transcription.complete', this.spanAttributes(job), () =>
        this.queue.complete(job.sessionId, job.questionId, task.claimId, fields, this.clock.now(), snapshot, (after) =>
          this.webhooks.transcriptionsCompleted(after, this.clock.now()),
        ),
      ),
    );
    if (settled === undefined) return;
    if (settled === null) return this.dropped(job);
    this.metrics.transcriptions.inc({ outcome: 'completed' });
    this.metrics.transcriptionSeconds.observe((this.clock.nowMs() - task.answer.queued_at.getTime()) / 1000);
    await this.relay.relayAfterWrite(settled);
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

  private async handleFailure(job: AnswerJob, task: TranscriptionTask, signal: AbortSignal, error: unknown) {
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

  private async fail(job: AnswerJob, task: TranscriptionTask, failure: TranscriptionFailure | string): Promise<void> {
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
