import { type ConfigType, registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, MinLength } from 'class-validator';
import { readEnvironment } from '../read-environment.js';
import { emptyToUndefined } from '../setting-rules.js';

export class MetricsEnvironment {
  /** When set, GET /metrics asks for "Authorization: Bearer <METRICS_TOKEN>". */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters long' })
  METRICS_TOKEN?: string;
}

export const metricsSettings = registerAs('metrics', () => ({
  token: readEnvironment([MetricsEnvironment]).METRICS_TOKEN,
}));

export type MetricsSettings = ConfigType<typeof metricsSettings>;
