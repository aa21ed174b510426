import { Injectable } from '@nestjs/common';
import type { HealthIndicatorFunction } from '@nestjs/terminus';

/**
 * Indicators that other modules add to GET /health/ready, besides the database, GridFS and the
 * provider: e.g. the transcription model's retirement. An indicator answers `up`, `degraded`
 * (reported in the details, the instance stays ready: HTTP 200, status "degraded") or `down`
 * (not ready: HTTP 503). Add them in onModuleInit; they run on every readiness probe, so cache
 * anything expensive (terminus's `.cacheFor(ms)`).
 */
@Injectable()
export class ReadinessChecks {
  private readonly added: HealthIndicatorFunction[] = [];

  add(indicator: HealthIndicatorFunction): void {
    this.added.push(indicator);
  }

  get indicators(): readonly HealthIndicatorFunction[] {
    return this.added;
  }
}
