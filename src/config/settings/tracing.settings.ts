import { type ConfigType, registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { readEnvironment } from '../read-environment.js';
import { emptyToUndefined } from '../setting-rules.js';

const OTLP_URL = /^https?:\/\/\S+$/;
const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;

/** Checked here so that a typo stops start-up; the OpenTelemetry SDK reads these (and the other OTEL_*) itself. */
export class TracingEnvironment {
  /** An OTLP collector (or its traces endpoint): tracing is on only when one is set. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(OTLP_URL, { message: 'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL, e.g. http://localhost:4318' })
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(OTLP_URL, { message: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http(s) URL' })
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(OTLP_PROTOCOLS, { message: `OTEL_EXPORTER_OTLP_PROTOCOL must be ${OTLP_PROTOCOLS.join(', ')}` })
  OTEL_EXPORTER_OTLP_PROTOCOL?: (typeof OTLP_PROTOCOLS)[number];

  @Matches(/^\S{1,100}$/, { message: 'OTEL_SERVICE_NAME must be a name without spaces' })
  OTEL_SERVICE_NAME = 'voice-interview-backend';
}

/** OpenTelemetry tracing, started in main.ts before the application. */
export const tracingSettings = registerAs('tracing', () => {
  const e = readEnvironment([TracingEnvironment]);
  return {
    enabled: Boolean(e.OTEL_EXPORTER_OTLP_ENDPOINT || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
    serviceName: e.OTEL_SERVICE_NAME,
  };
});

export type TracingSettings = ConfigType<typeof tracingSettings>;
