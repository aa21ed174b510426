import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Cron } from '@nestjs/schedule';
import { HealthIndicatorService } from '@nestjs/terminus';
import OpenAI, { APIConnectionError, APIError } from 'openai';
import { Gauge } from 'prom-client';
import { createOpenAiClient } from '../common/openai-client.js';
import {
  providerSettings,
  scoringSettings,
  transcriptionSettings,
  type ProviderSettings,
  type ScoringSettings,
  type TranscriptionSettings,
} from '../config/settings.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import { ReadinessChecks } from './readiness-checks.js';

/** A shutdown date this close is a warning. */
export const RETIREMENT_WARNING_DAYS = 60;
const DAY_MS = 86_400_000;
const READ_TIMEOUT_MS = 10_000;

interface WatchedModel {
  /** The setting that names it. */
  setting: 'TRANSCRIPTION_MODEL' | 'SCORING_MODEL';
  model: string;
}

/** What the provider said of one model at the last check. */
export interface ModelReading {
  model: string;
  /** unchecked: not read yet, or the provider has no /models endpoint (tolerated). */
  status: 'ok' | 'retiring' | 'unknown' | 'unchecked';
  shutdown_date?: string;
  days_left?: number;
}

type Answer =
  { kind: 'found'; shutdown?: Date } | { kind: 'unknown' } | { kind: 'unsupported' } | { kind: 'unreachable' };

/**
 * Reads the configured models from the provider (GET /models/{id}) at start-up and daily: a
 * shutdown date within RETIREMENT_WARNING_DAYS, or a model the provider does not know, is a
 * warning in the log, the gauge interview_model_retirement_warning and a `degraded` "models"
 * detail on /health/ready. A provider without the endpoint, or out of reach, is not a warning.
 */
@Injectable()
export class ModelWatch implements OnApplicationBootstrap {
  private readonly logger = new Logger(ModelWatch.name);
  private readonly client?: OpenAI;
  private readonly watched: WatchedModel[] = [];
  private readonly readings = new Map<WatchedModel['setting'], ModelReading>();
  private readonly warning: Gauge<'setting' | 'model' | 'reason'>;
  private readonly shutdown: Gauge<'setting' | 'model'>;

  constructor(
    @Inject(providerSettings.KEY) provider: ProviderSettings,
    @Inject(transcriptionSettings.KEY) transcription: TranscriptionSettings,
    @Inject(scoringSettings.KEY) scoring: ScoringSettings,
    private readonly indicators: HealthIndicatorService,
    private readonly readiness: ReadinessChecks,
    metrics: ServiceMetrics,
  ) {
    this.client = createOpenAiClient(provider, READ_TIMEOUT_MS, { keyless: true });
    this.watched.push({ setting: 'TRANSCRIPTION_MODEL', model: transcription.model });
    // the scorer asks the provider only with a key (LlmScorer)
    if (provider.apiKey) this.watched.push({ setting: 'SCORING_MODEL', model: scoring.model });
    for (const w of this.watched) this.readings.set(w.setting, { model: w.model, status: 'unchecked' });
    this.warning = new Gauge({
      name: 'interview_model_retirement_warning',
      help: `1 while a configured model shuts down within ${RETIREMENT_WARNING_DAYS} days (reason shutdown_soon) or the provider does not know it (reason unknown_model).`,
      labelNames: ['setting', 'model', 'reason'] as const,
      registers: [metrics.registry],
    });
    this.shutdown = new Gauge({
      name: 'interview_model_shutdown_timestamp_seconds',
      help: 'The shutdown date the provider announces for a configured model (Unix time), when it announces one.',
      labelNames: ['setting', 'model'] as const,
      registers: [metrics.registry],
    });
  }

  onApplicationBootstrap(): void {
    if (!this.client) return;
    this.readiness.add(() => this.indicator());
    // start-up does not wait for the provider
    void this.check();
  }

  @Cron('17 4 * * *', { name: 'model-retirement-watch', timeZone: 'UTC' })
  async daily(): Promise<void> {
    if (this.client) await this.check();
  }

  /** Reads every watched model once; never throws. */
  async check(now = Date.now()): Promise<void> {
    for (const { setting, model } of this.watched) {
      const answer = await this.read(model);
      if (answer.kind === 'unsupported' || answer.kind === 'unreachable') {
        if (answer.kind === 'unreachable') this.logger.debug(`could not read ${setting} ${model} from the provider`);
        continue;
      }
      const reading = this.judge(model, answer, now);
      this.readings.set(setting, reading);
      if (answer.kind === 'found' && answer.shutdown)
        this.shutdown.set({ setting, model }, Math.floor(answer.shutdown.getTime() / 1000));
      if (reading.status === 'retiring') {
        this.logger.warn(
          `${setting} ${model} shuts down on ${reading.shutdown_date} (in ${reading.days_left} days): choose its replacement and set ${setting}.`,
        );
      } else if (reading.status === 'unknown') {
        this.logger.warn(`the provider does not know ${setting} ${model}: check ${setting} and OPENAI_BASE_URL.`);
      }
    }
    this.warning.reset();
    for (const [setting, r] of this.readings) {
      if (r.status === 'retiring') this.warning.set({ setting, model: r.model, reason: 'shutdown_soon' }, 1);
      if (r.status === 'unknown') this.warning.set({ setting, model: r.model, reason: 'unknown_model' }, 1);
    }
  }

  private judge(model: string, answer: Extract<Answer, { kind: 'found' | 'unknown' }>, now: number): ModelReading {
    if (answer.kind === 'unknown') return { model, status: 'unknown' };
    if (!answer.shutdown) return { model, status: 'ok' };
    const days = Math.ceil((answer.shutdown.getTime() - now) / DAY_MS);
    const date = answer.shutdown.toISOString().slice(0, 10);
    return { model, status: days <= RETIREMENT_WARNING_DAYS ? 'retiring' : 'ok', shutdown_date: date, days_left: days };
  }

  private async read(model: string): Promise<Answer> {
    try {
      const found = (await this.client!.models.retrieve(model, { maxRetries: 0 })) as { shutdown_date?: unknown };
      return { kind: 'found', shutdown: parseDate(found?.shutdown_date) };
    } catch (error) {
      if (!(error instanceof APIError) || error instanceof APIConnectionError) return { kind: 'unreachable' };
      if (error.status !== 404)
        return { kind: error.status === 405 || error.status === 501 ? 'unsupported' : 'unreachable' };
    }
    // a 404: an unknown model, or no /models endpoint at all (whisper.cpp's server)
    try {
      await this.client!.models.list({ maxRetries: 0 });
      return { kind: 'unknown' };
    } catch (error) {
      return error instanceof APIError && !(error instanceof APIConnectionError) && error.status
        ? { kind: 'unsupported' }
        : { kind: 'unreachable' };
    }
  }

  private indicator() {
    const models = this.indicators.check('models');
    const details = Object.fromEntries([...this.readings].map(([setting, r]) => [setting, r]));
    const warnings = [...this.readings].flatMap(([setting, r]) =>
      r.status === 'retiring'
        ? [`${setting} ${r.model} shuts down on ${r.shutdown_date} (in ${r.days_left} days)`]
        : r.status === 'unknown'
          ? [`the provider does not know ${setting} ${r.model}`]
          : [],
    );
    return warnings.length > 0 ? models.degraded({ ...details, message: warnings.join('; ') }) : models.up(details);
  }
}

/** OpenAI gives a date ("2027-01-14"); some servers Unix seconds. */
function parseDate(value: unknown): Date | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value * 1000);
  if (typeof value !== 'string' || !value) return undefined;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? undefined : new Date(parsed);
}
