import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  MongooseHealthIndicator,
  type HealthCheckResult,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import type { Response } from 'express';
import type { Connection } from 'mongoose';
import { AnswerAudioStore } from '../audio/answer-audio.store.js';
import { Public } from '../auth/public.decorator.js';
import { ProviderProbe } from './provider.probe.js';
import { ReadinessChecks } from './readiness-checks.js';

const DATABASE_TIMEOUT_MS = 2_000;

/**
 * Kubernetes-style probes through @nestjs/terminus, no auth: GET /health says the process is alive
 * (it never asks the database: restarting an instance does not bring a database back), GET
 * /health/ready whether it can serve: 200 with status "ok" or "degraded", 503 with "error".
 */
@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly mongoose: MongooseHealthIndicator,
    private readonly audio: AnswerAudioStore,
    private readonly provider: ProviderProbe,
    private readonly readiness: ReadinessChecks,
    @InjectConnection() private readonly connection: Connection,
  ) {}

  /** Liveness: 200 while the process serves HTTP at all. */
  @Public()
  @Get()
  @HealthCheck()
  live(@Res({ passthrough: true }) res: Response) {
    return this.run(res, [() => this.indicators.check('process').up({ uptime_seconds: Math.round(process.uptime()) })]);
  }

  /**
   * Readiness: the database answers a ping and both GridFS collections a read (503 otherwise);
   * the provider's reachability, and whatever other modules add, is reported as detail.
   */
  @Public()
  @Get('ready')
  @HealthCheck()
  ready(@Res({ passthrough: true }) res: Response) {
    return this.run(res, [
      () => this.mongoose.pingCheck('database', { connection: this.connection, timeout: DATABASE_TIMEOUT_MS }),
      () =>
        this.indicators
          .check('gridfs')
          .attempt(({ signal }) => this.audio.probe(signal))
          .withTimeout(DATABASE_TIMEOUT_MS),
      () => this.provider.check(),
      ...this.readiness.indicators,
    ]);
  }

  /** Terminus reports a failed check as a 503 exception: answered here with its own body, not as a problem. */
  private async run(res: Response, checks: HealthIndicatorFunction[]): Promise<HealthCheckResult> {
    try {
      return await this.health.check(checks);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      res.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
