import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Provider calls take seconds; long recordings take minutes. */
const LONG_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** prom-client default metrics whose names break Prometheus's naming conventions. */
const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export type TranscriptionOutcome = 'completed' | 'failed' | 'retry' | 'released' | 'dropped';

/**
 * Every Prometheus metric the service exports, named by Prometheus's conventions (base units in
 * the name: _seconds, _bytes; _total on counters only; checked by promtool in the tests), in one
 * registry of its own (not prom-client's global one, so two apps in one process never collide).
 */
@Injectable()
export class ServiceMetrics {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });

  readonly uploads = new Counter({
    name: 'interview_uploads_total',
    help: 'Answer uploads by outcome (accepted, rejected).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly uploadBytes = new Counter({
    name: 'interview_upload_bytes_total',
    help: 'Bytes of answer audio accepted and stored.',
    registers: [this.registry],
  });

  readonly transcriptions = new Counter({
    name: 'interview_transcriptions_total',
    help: 'Transcription attempts by outcome: completed, failed (for good), retry (scheduled again), released (handed back at shutdown), dropped (the answer changed meanwhile).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly transcriptionRetries = new Counter({
    name: 'interview_transcription_retries_total',
    help: 'Transient transcription failures that were scheduled for another attempt.',
    registers: [this.registry],
  });

  readonly transcriptionSeconds = new Histogram({
    name: 'interview_transcription_duration_seconds',
    help: 'From upload to transcript stored, for completed answers.',
    buckets: LONG_BUCKETS,
    registers: [this.registry],
  });

  readonly providerSeconds = new Histogram({
    name: 'interview_provider_request_duration_seconds',
    help: 'Calls to the transcription provider by outcome (ok, error).',
    labelNames: ['outcome'] as const,
    buckets: LONG_BUCKETS,
    registers: [this.registry],
  });

  readonly cleanupRuns = new Counter({
    name: 'interview_cleanup_runs_total',
    help: 'Audio cleanup runs by outcome (completed, skipped: another instance held the lease, error).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly cleanupDeleted = new Counter({
    name: 'interview_cleanup_deleted_total',
    help: 'What the audio cleanup removed, by kind (files, orphan_files, orphan_chunk_groups, expired_failed_answers, sessions_erased, expired_uploads, orphan_webhook_deliveries, orphan_transcripts_ahead).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  /** Bytes are a unit of their own: one metric per unit, so that a sum over the labels means something. */
  readonly cleanupDeletedBytes = new Counter({
    name: 'interview_cleanup_deleted_bytes_total',
    help: 'Bytes of audio the cleanup deleted.',
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'interview_webhook_attempts_total',
    help: 'Webhook delivery attempts by outcome (delivered, retry, failed).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly scoringRequests = new Counter({
    name: 'interview_scoring_requests_total',
    help: 'Chat completions sent to score answers (one per sample judging every criterion, and one per re-ask of the criteria a reply got wrong), by outcome: ok, unusable (refused, malformed, or a criterion failing its evidence checks: asked again), error (failed call).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly speechGuard = new Counter({
    name: 'interview_speech_checks_total',
    help: 'Answers measured before transcription, by outcome: speech, no_speech (completed without a provider call), suspect (a known silence hallucination), unmeasured (guard off or ffmpeg could not read it).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly scoringFallbacks = new Counter({
    name: 'interview_scoring_criterion_fallbacks_total',
    help: 'Criteria scored by the local scorer after SCORING_MAX_ATTEMPTS unusable LLM replies.',
    registers: [this.registry],
  });

  readonly scoringTokens = new Counter({
    name: 'interview_scoring_tokens_total',
    help: 'Tokens the scoring chat completions used, as their replies report (usage), by kind: prompt, completion.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly answersScored = new Counter({
    name: 'interview_answers_scored_total',
    help: 'Answers scored, by method (llm, local, none) and review (needs_review: samples spread over SCORING_REVIEW_SPREAD, speech to the grader, or a score far above the key-term coverage; ok).',
    labelNames: ['method', 'review'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // prom-client's totals of these are gauges named like counters, which Prometheus's conventions
    // (and promtool) refuse; sum(nodejs_active_handles) gives the same number
    for (const name of MISNAMED_DEFAULTS) this.registry.removeSingleMetric(name);
  }
}
