import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import type { Types } from 'mongoose';
import { randomUUID } from 'node:crypto';
import { Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sha256Meter } from '../common/sha256-meter.js';
import { AnswerAudioStore } from '../audio/answer-audio.store.js';
import { ANSWER_QUEUED, type AnswerQueuedEvent } from '../answers/answer-events.js';
import type { EnvironmentVariables } from '../config/environment.js';
import { answerDueAt, isClaimable } from '../sessions/answer-state.js';
import type { Answer } from '../sessions/session.schema.js';
import { SESSION_CHANGED, type SessionChangedEvent } from '../sessions/session-events.js';
import { SessionStore } from '../sessions/session.store.js';
import { classifyError, retryDelayMs, TranscriptionFailure, type RetryPolicy } from './retry-policy.js';
import { LargeRecordingTranscriber } from './large-recording.transcriber.js';
import { Transcriber, type TranscriptionResult } from './transcriber.js';
import { sweepWorkDirectories } from './work-directory.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import { PinoLogger } from 'nestjs-pino';
import { WebhookOutbox } from '../webhooks/webhook-outbox.js';

interface Job {
  key: string;
  sessionId: Types.ObjectId;
  questionId: string;
  fileId: Types.ObjectId;
  /** Upload time: ready jobs start oldest first. */
  queuedAt: Date;
  /** Not before then (a retry's backoff, or a lease that has yet to lapse). */
  dueAt: Date;
  /** Of the upload request: the job's log lines carry it. */
  requestId?: string | null;
}

/** Why a running job was told to stop. */
const LOST_CLAIM = 'lost-claim';
const SHUTTING_DOWN = 'shutting-down';

/** Sessions read per scan for due work. */
const SCAN_BATCH = 100;

/**
 * Runs transcription jobs. The session document is the queue: an upload event, a timer and a
 * periodic scan only decide when to look; every job starts with an atomic claim (queued →
 * processing with a lease this worker keeps renewing) and ends with a write that only the claim's
 * holder can make. So a crash, a restart or a second instance never loses or doubles a job.
 */
@Injectable()
export class TranscriptionWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(TranscriptionWorker.name);
  private readonly waiting = new Map<string, Job>();
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly graceMs: number;
  private readonly retryPolicy: RetryPolicy;
  private stopping = false;
  private scanTimer?: NodeJS.Timeout;
  private wakeTimer?: NodeJS.Timeout;
  private wakeAt = Infinity;

  constructor(
    private readonly sessions: SessionStore,
    private readonly audio: AnswerAudioStore,
    private readonly transcriber: Transcriber,
    private readonly largeRecordings: LargeRecordingTranscriber,
    private readonly events: EventEmitter2,
    private readonly metrics: ServiceMetrics,
    private readonly log: PinoLogger,
    private readonly webhooks: WebhookOutbox,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.concurrency = config.get('TRANSCRIPTION_CONCURRENCY', { infer: true });
    this.maxAttempts = config.get('TRANSCRIPTION_MAX_ATTEMPTS', { infer: true });
    this.leaseMs = config.get('TRANSCRIPTION_LEASE_MS', { infer: true });
    this.pollMs = config.get('TRANSCRIPTION_POLL_MS', { infer: true });
    this.graceMs = config.get('SHUTDOWN_GRACE_MS', { infer: true });
    this.retryPolicy = {
      baseMs: config.get('TRANSCRIPTION_RETRY_BASE_MS', { infer: true }),
      maxMs: config.get('TRANSCRIPTION_RETRY_MAX_MS', { infer: true }),
    };
  }

  /** Clears what crashed jobs left in the temp directory before any job of this process starts. */
  async onApplicationBootstrap(): Promise<void> {
    await sweepWorkDirectories();
    this.scheduleScan(0);
  }

  @OnEvent(ANSWER_QUEUED)
  onAnswerQueued(event: AnswerQueuedEvent): void {
    this.offer({ ...event, dueAt: event.queuedAt });
  }

  /** Stop taking jobs, give running ones SHUTDOWN_GRACE_MS to finish, then hand the rest back. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.scanTimer);
    clearTimeout(this.wakeTimer);
    this.waiting.clear();
    const all = () => Promise.allSettled([...this.running.values()].map((job) => job.done));
    if (this.running.size > 0) {
      this.logger.log(`shutting down: waiting up to ${this.graceMs} ms for ${this.running.size} transcription(s)`);
      await Promise.race([all(), sleep(this.graceMs)]);
    }
    if (this.running.size > 0) {
      this.logger.warn(`shutting down: releasing ${this.running.size} unfinished transcription(s) to the queue`);
      for (const job of this.running.values()) job.abort.abort(SHUTTING_DOWN);
      await all();
    }
  }

  private scheduleScan(delayMs: number): void {
    if (this.stopping) return;
    this.scanTimer = setTimeout(() => {
      void this.scan().finally(() => this.scheduleScan(this.pollMs));
    }, delayMs);
  }

  /** Finds due work in the database: new uploads elsewhere, retries, and claims whose lease lapsed. */
  async scan(): Promise<void> {
    const now = new Date();
    let due;
    try {
      due = await this.sessions.findDue(now, SCAN_BATCH);
    } catch (error) {
      this.logger.warn(`could not scan for transcription work: ${(error as Error).message}`);
      return;
    }
    for (const session of due) {
      let offered = false; // something is claimable now, so work_due_at must stay where it is
      for (const [questionId, answer] of Object.entries(session.answers ?? {})) {
        if (!answer.gridfs_file_id || !answerDueAt(answer)) continue;
        if (answer.transcription_status === 'processing' && !isClaimable(answer, now)) continue;
        offered ||= isClaimable(answer, now);
        this.offer({
          sessionId: session._id,
          questionId,
          fileId: answer.gridfs_file_id,
          queuedAt: answer.queued_at,
          dueAt: answerDueAt(answer)!,
          requestId: answer.request_id,
        });
      }
      if (!offered) await this.sessions.refreshWorkDue(session).catch(() => undefined);
    }
  }

  private offer(job: Omit<Job, 'key'>): void {
    if (this.stopping) return;
    const key = `${String(job.sessionId)}/${job.questionId}/${String(job.fileId)}`;
    if (this.running.has(key)) return;
    const known = this.waiting.get(key);
    if (!known || job.dueAt < known.dueAt) this.waiting.set(key, { ...job, key });
    this.pump();
  }

  /** Starts ready jobs, oldest upload first, while a slot is free; wakes up for the next due one. */
  private pump(): void {
    if (this.stopping) return;
    const now = Date.now();
    while (this.running.size < this.concurrency) {
      let next: Job | undefined;
      for (const job of this.waiting.values()) {
        if (job.dueAt.getTime() <= now && (!next || job.queuedAt < next.queuedAt)) next = job;
      }
      if (!next) break;
      this.waiting.delete(next.key);
      this.start(next);
    }
    let earliest = Infinity;
    for (const job of this.waiting.values()) earliest = Math.min(earliest, job.dueAt.getTime());
    if (earliest > now && earliest < this.wakeAt) {
      clearTimeout(this.wakeTimer);
      this.wakeAt = earliest;
      this.wakeTimer = setTimeout(() => {
        this.wakeAt = Infinity;
        this.pump();
      }, earliest - now);
    }
  }

  private start(job: Job): void {
    const abort = new AbortController();
    const bindings = { req_id: job.requestId ?? undefined, job: job.key };
    // a fresh logging context: the job outlives the request (or timer) that started it
    const done = this.log
      .runInContext(() => this.run(job, abort), { bindings })
      .catch((error: Error) =>
        this.logger.error(`transcription job ${job.key} crashed: ${error.stack ?? error.message}`),
      )
      .finally(() => {
        this.running.delete(job.key);
        this.pump();
      });
    this.running.set(job.key, { abort, done });
  }

  private async run(job: Job, abort: AbortController): Promise<void> {
    const claimId = randomUUID();
    const now = new Date();
    const claimed = await this.sessions
      .claim(job.sessionId, job.questionId, job.fileId, claimId, new Date(now.getTime() + this.leaseMs), now)
      .catch((error: Error) => {
        this.logger.warn(`could not claim ${job.key}: ${error.message}; it stays queued`);
        return null;
      });
    if (!claimed) return;
    const { answer, sessionLanguage } = claimed;
    this.changed(job);
    if (answer.attempts > this.maxAttempts) {
      await this.fail(job, claimId, `Gave up after ${this.maxAttempts} attempts; the last one was interrupted.`);
      return;
    }

    const renew = setInterval(
      () => {
        this.sessions
          .renewLease(job.sessionId, job.questionId, claimId, new Date(Date.now() + this.leaseMs))
          .then((held) => held || abort.abort(LOST_CLAIM))
          .catch((error: Error) => this.logger.warn(`could not renew lease on ${job.key}: ${error.message}`));
      },
      Math.max(250, Math.floor(this.leaseMs / 3)),
    );

    const startedAt = Date.now();
    try {
      const result =
        answer.audio.size_bytes > this.largeRecordings.maxFileBytes
          ? await this.largeRecordings.transcribe(
              {
                ...job,
                claimId,
                answer,
                language: sessionLanguage,
                loseClaim: () => abort.abort(LOST_CLAIM),
                changed: () => this.changed(job),
              },
              abort.signal,
            )
          : await this.transcribe(job, answer, sessionLanguage, abort.signal);
      const settled = await this.sessions.settleClaim(job.sessionId, job.questionId, claimId, {
        transcription_status: 'completed',
        transcript: result.text,
        language: result.language,
        duration_seconds: result.duration_seconds,
        segments: result.segments,
        // the pieces' results are in the transcript now
        pieces: null,
        progress: null,
        transcribed_at: new Date(),
        transcription_error: null,
        gridfs_file_id: null,
        next_attempt_at: null,
        updated_at: new Date(),
      });
      if (!settled) {
        this.metrics.transcriptions.inc({ outcome: 'dropped' });
        this.logger.log(`dropped the transcript of ${job.key}: the answer changed while it was transcribed`);
        return;
      }
      this.changed(job);
      this.metrics.transcriptions.inc({ outcome: 'completed' });
      this.metrics.transcriptionSeconds.observe((Date.now() - answer.queued_at.getTime()) / 1000);
      await this.webhooks.answerCompleted(settled);
      this.logger.log(
        `transcribed session=${String(job.sessionId)} question=${job.questionId} attempt=${answer.attempts} in ${Date.now() - startedAt} ms`,
      );
      // The transcript is safe first; the audio goes second. A crash in between leaves an orphan
      // file that no answer points to, which the cleanup job removes.
      await this.audio
        .delete(job.fileId)
        .catch((error: Error) =>
          this.logger.warn(`could not delete transcribed audio ${String(job.fileId)}: ${error.message}`),
        );
      await this.sessions.refreshWorkDue(settled).catch(() => undefined);
    } catch (error) {
      await this.handleFailure(job, claimId, answer, abort.signal, error);
    } finally {
      clearInterval(renew);
    }
  }

  private changed(job: Job): void {
    this.events.emit(SESSION_CHANGED, { sessionId: String(job.sessionId) } satisfies SessionChangedEvent);
  }

  /** Sends the stored audio as it is, straight from GridFS. */
  private async transcribe(
    job: Job,
    answer: Answer,
    language: string | null,
    signal: AbortSignal,
  ): Promise<TranscriptionResult> {
    const stream = this.audio.openDownload(job.fileId);
    let storageError: Error | undefined;
    stream.on('error', (error: Error) => (storageError = error));
    const meter = new Sha256Meter();
    const measured = stream.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          meter.update(chunk);
          callback(null, chunk);
        },
      }),
    );
    stream.on('error', (error: Error) => measured.destroy(error));
    const deadline = AbortSignal.timeout(this.transcriber.timeoutMs);
    try {
      const result = await this.transcriber.transcribe(
        {
          stream: measured,
          filename: `answer-${job.questionId}.${answer.audio.format}`,
          contentType: answer.audio.content_type,
        },
        AbortSignal.any([signal, deadline]),
        language,
      );
      this.verifyIntegrity(answer, meter);
      return result;
    } catch (error) {
      if (signal.aborted) throw error;
      if (storageError) throw storageError;
      if (deadline.aborted) {
        throw new TranscriptionFailure(
          `The transcription provider did not answer within ${this.transcriber.timeoutMs} ms.`,
          'transient',
        );
      }
      throw error;
    } finally {
      stream.destroy();
      measured.destroy();
    }
  }

  /** The transcript only counts if the provider heard exactly the bytes that were uploaded. */
  private verifyIntegrity(answer: Answer, meter: Sha256Meter): void {
    const expected = answer.audio.sha256;
    if (!expected) return; // stored before checksums existed
    if (meter.bytes !== answer.audio.size_bytes || meter.digest() !== expected) {
      throw new TranscriptionFailure(
        'The stored audio failed its integrity check (SHA-256 mismatch); upload the answer again.',
        'permanent',
      );
    }
  }

  private async handleFailure(job: Job, claimId: string, answer: Answer, signal: AbortSignal, error: unknown) {
    if (signal.reason === LOST_CLAIM) {
      this.logger.log(`stopped ${job.key}: its claim was taken over or the answer was replaced`);
      return;
    }
    if (signal.reason === SHUTTING_DOWN) {
      this.metrics.transcriptions.inc({ outcome: 'released' });
      await this.sessions
        .settleClaim(
          job.sessionId,
          job.questionId,
          claimId,
          { transcription_status: 'queued', next_attempt_at: null, updated_at: new Date() },
          { attemptsDelta: -1, dueAt: new Date() },
        )
        .catch((e: Error) => this.logger.warn(`could not release ${job.key}: ${e.message}; its lease will lapse`));
      return;
    }
    const failure = classifyError(error);
    if (failure.kind === 'transient' && answer.attempts < this.maxAttempts) {
      const delay = retryDelayMs(failure, answer.attempts, this.retryPolicy);
      const retryAt = new Date(Date.now() + delay);
      this.logger.warn(`attempt ${answer.attempts} of ${job.key} failed, retrying in ${delay} ms: ${failure.message}`);
      const settled = await this.sessions
        .settleClaim(
          job.sessionId,
          job.questionId,
          claimId,
          {
            transcription_status: 'queued',
            next_attempt_at: retryAt,
            transcription_error: failure.message,
            updated_at: new Date(),
          },
          { dueAt: retryAt },
        )
        .catch((e: Error) => {
          this.logger.warn(`could not schedule a retry of ${job.key}: ${e.message}; its lease will lapse`);
          return null;
        });
      if (settled) {
        this.metrics.transcriptions.inc({ outcome: 'retry' });
        this.metrics.transcriptionRetries.inc();
        this.changed(job);
        this.offer({ ...job, dueAt: retryAt });
      }
      return;
    }
    const message =
      failure.kind === 'transient' ? `Gave up after ${answer.attempts} attempts: ${failure.message}` : failure.message;
    await this.fail(job, claimId, message);
  }

  private async fail(job: Job, claimId: string, message: string): Promise<void> {
    this.logger.warn(`transcription of ${job.key} failed: ${message}`);
    const settled = await this.sessions
      .settleClaim(job.sessionId, job.questionId, claimId, {
        transcription_status: 'failed',
        transcription_error: message,
        next_attempt_at: null,
        updated_at: new Date(),
      })
      .catch((e: Error) => {
        this.logger.warn(`could not record the failure of ${job.key}: ${e.message}; its lease will lapse`);
        return null;
      });
    if (!settled) return;
    this.metrics.transcriptions.inc({ outcome: 'failed' });
    this.changed(job);
    await this.webhooks.answerFailed(settled, job.questionId);
    await this.sessions.refreshWorkDue(settled).catch(() => undefined);
  }
}
