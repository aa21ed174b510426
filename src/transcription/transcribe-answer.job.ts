import { Inject, Injectable, Logger } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { NO_PROVIDER } from '../common/openai-client.js';
import { transcriptionSettings, type TranscriptionSettings } from '../config/settings.js';
import { Clock } from '../database/clock.js';
import type { TranscriptFields } from '../interview-record/answer.schema.js';
import { inTrace, withSpan } from '../tracing/spans.js';
import { answerJob, type AnswerJob } from './answer-job.js';
import { AnswerTranscripts } from './answer-transcripts.js';
import { AttemptOutcomes, spanAttributes } from './attempt-outcomes.js';
import type { JobSource, StartedJob, TakeSlot } from './job-scheduler.js';
import { TranscriptionQueue } from './queue/transcription-queue.js';
import { WorkIndex } from './queue/work-index.js';
import type { InterviewHints, TranscriptionTask } from './recording/transcription-task.js';
import { interviewKeywords } from './transcribers/interview-hints.js';
import { TranscriptionProvider } from './transcribers/transcription-provider.js';

/**
 * Transcribing one answer, as the scheduler runs it: find due answers, claim one, run one attempt
 * (the transcript of its recording, AnswerTranscripts) and hand the result or the error to
 * AttemptOutcomes, which completes, retries, hands back or fails it. The claim fences every write:
 * a job whose claim was taken over or whose answer was replaced writes nothing.
 */
@Injectable()
export class TranscribeAnswerJob implements JobSource<AnswerJob> {
  /** Every line about transcription work carries the one context operators filter by. */
  private readonly logger = new Logger('TranscriptionWorker');

  constructor(
    private readonly queue: TranscriptionQueue,
    private readonly workIndex: WorkIndex,
    private readonly transcripts: AnswerTranscripts,
    private readonly provider: TranscriptionProvider,
    private readonly outcomes: AttemptOutcomes,
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
    const { leaseMs } = this.settings;
    const claimed = await withSpan('transcription.claim', spanAttributes(job), (span) =>
      this.queue.claim(job.sessionId, job.questionId, job.fileId, claimId, leaseMs).then((c) => {
        span.setAttribute('transcription.claimed', c !== null);
        return c;
      }),
    ).catch((error: Error) => this.readBack(job, claimId, error));
    if (!claimed) return null;
    const hints: InterviewHints = {
      keywords: claimed.question ? interviewKeywords(claimed.question) : [],
      language: claimed.sessionLanguage,
      languages: claimed.sessionLanguages,
    };
    const task: TranscriptionTask = { ...job, claimId, answer: claimed.answer, hints, session: claimed.session };
    return {
      renew: () => this.queue.renewLease(job.sessionId, job.questionId, claimId, leaseMs),
      run: (signal, slot) =>
        withSpan(
          'transcription.attempt',
          { ...spanAttributes(job), 'transcription.attempt': task.answer.attempts },
          () => this.run(job, task, signal, slot),
        ),
    };
  }

  /**
   * A claim write that failed may still have been applied (the error came after the database took
   * it): the session says. Held, the job goes on; otherwise the answer stays as it was (queued, or
   * claimed under a lease that lapses).
   */
  private async readBack(job: AnswerJob, claimId: string, error: Error) {
    const held = await this.queue.heldClaim(job.sessionId, job.questionId, claimId).catch(() => null);
    if (held) {
      this.logger.warn(`the claim on ${job.key} answered ${error.message}, but the session holds it: going on`);
      return held;
    }
    this.logger.warn(`could not claim ${job.key}: ${error.message}; it stays queued`);
    return null;
  }

  /** Without a provider nothing is claimed: the answer stays queued and says why (once). */
  private async waitForProvider(job: AnswerJob): Promise<null> {
    const noted = await this.queue
      .noteWaiting(job.sessionId, job.questionId, job.fileId, NO_PROVIDER, this.clock.now())
      .catch(() => false);
    if (noted) this.logger.warn(`${job.key} waits: ${NO_PROVIDER}`);
    return null;
  }

  /** The provider's part of the attempt holds one of TRANSCRIPTION_CONCURRENCY slots (`slot`); the rest does not. */
  private async run(job: AnswerJob, task: TranscriptionTask, signal: AbortSignal, slot: TakeSlot): Promise<void> {
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
      await this.outcomes.finish(job, task, fields, null, signal, this.clock.nowMs());
      return;
    }
    if (answer.attempts > this.settings.maxAttempts) {
      const interrupted = `Gave up after ${this.settings.maxAttempts} attempts; the last one was interrupted.`;
      await this.outcomes.fail(job, task, interrupted);
      return;
    }
    const startedAt = this.clock.nowMs();
    let fields: TranscriptFields;
    try {
      fields = await this.transcripts.of(task, signal, slot);
    } catch (error) {
      await this.outcomes.threw(job, task, signal, error);
      return;
    }
    await this.outcomes.transcribed(job, task, this.transcripts.bounded(task, fields), signal, startedAt);
  }
}
