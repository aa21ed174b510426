import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { APIConnectionError, APIError } from 'openai';
import { createOpenAiClient, NO_PROVIDER } from '../common/openai-client.js';
import { providerSettings, type ProviderSettings } from '../config/settings.js';

const PROBE_TIMEOUT_MS = 3_000;
/** Probes share one reading for this long: orchestrators probe every few seconds, per instance. */
const PROBE_CACHE_MS = 10_000;

/**
 * Whether the transcription provider answers: one GET /models through the openai SDK. Reported
 * on /health/ready as `degraded`, never `down`: uploads go on being accepted and transcription
 * retries, so an unreachable provider is no reason to take an instance out of service.
 */
@Injectable()
export class ProviderProbe {
  private readonly client;

  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(providerSettings.KEY) provider: ProviderSettings,
  ) {
    this.client = createOpenAiClient(provider, PROBE_TIMEOUT_MS, { keyless: true });
  }

  check() {
    const provider = this.indicators.check('provider');
    if (!this.client) {
      return provider.degraded({ configured: false, message: NO_PROVIDER });
    }
    return provider
      .attempt(async ({ signal }) => ({ http_status: await this.statusOfModels(signal) }))
      .withTimeout(PROBE_TIMEOUT_MS)
      .cacheFor(PROBE_CACHE_MS)
      .then(({ provider: reading }) => {
        const { status, message, http_status, ...rest } = reading as Record<string, unknown>;
        if (status === 'down') return provider.degraded({ ...rest, configured: true, reachable: false, message });
        const code = Number(http_status);
        const refused = code === 401 || code === 403 ? `the provider refused OPENAI_API_KEY (HTTP ${code})` : undefined;
        const failing = code >= 500 ? `the provider answers HTTP ${code}` : undefined;
        const detail = { ...rest, configured: true, reachable: true, http_status: code };
        return refused || failing ? provider.degraded({ ...detail, message: refused ?? failing }) : provider.up(detail);
      });
  }

  /** The HTTP status of GET /models: any answer means the provider is reachable. */
  private statusOfModels(signal: AbortSignal): Promise<number> {
    return this.client!.models.list({ signal, maxRetries: 0 }).then(
      () => 200,
      (error: unknown) => {
        if (error instanceof APIError && !(error instanceof APIConnectionError) && error.status)
          return error.status as number;
        throw new Error('the provider could not be reached');
      },
    );
  }
}
