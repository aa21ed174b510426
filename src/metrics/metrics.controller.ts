import { Controller, Get, Header, Headers, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { timingSafeEqual } from 'node:crypto';
import { Registry } from 'prom-client';
import { Public } from '../auth/public.decorator.js';
import type { EnvironmentVariables } from '../config/environment.js';
import { ServiceMetrics } from './service-metrics.js';

/** Prometheus scrape endpoint; open, or behind METRICS_TOKEN when that is set. */
@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  private readonly token?: Buffer;

  constructor(
    private readonly metrics: ServiceMetrics,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    const token = config.get('METRICS_TOKEN', { infer: true });
    this.token = token ? Buffer.from(`Bearer ${token}`) : undefined;
  }

  @Public()
  @Get()
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text format.' })
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
