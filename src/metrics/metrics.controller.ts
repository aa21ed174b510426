import { Controller, Get, Header, Headers, Inject, UnauthorizedException } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { timingSafeEqual } from 'node:crypto';
import { Registry } from 'prom-client';
import { Public } from '../auth/public.decorator.js';
import { ApiProblems } from '../common/api-problems.decorator.js';
import { metricsSettings, type MetricsSettings } from '../config/settings.js';
import { ServiceMetrics } from './service-metrics.js';

/** Prometheus scrape endpoint; open, or behind METRICS_TOKEN when that is set. */
@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  private readonly token?: Buffer;

  constructor(
    private readonly metrics: ServiceMetrics,
    @Inject(metricsSettings.KEY) settings: MetricsSettings,
  ) {
    const token = settings.token;
    this.token = token ? Buffer.from(`Bearer ${token}`) : undefined;
  }

  @Public()
  @Get()
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'Prometheus text exposition format 0.0.4.',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @ApiProblems([401, 'METRICS_TOKEN is set and the request does not carry it as a bearer token.'])
  @Header('Cache-Control', 'no-store')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  async scrape(@Headers('authorization') authorization?: string): Promise<string> {
    if (this.token) {
      const given = Buffer.from(authorization ?? '');
      if (given.length !== this.token.length || !timingSafeEqual(given, this.token)) {
        throw new UnauthorizedException('GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>".');
      }
    }
    return this.metrics.registry.metrics();
  }
}
