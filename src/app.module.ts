import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { AnalysisModule } from './analysis/analysis.module.js';
import { AnswersModule } from './answers/answers.module.js';
import { AuthModule } from './auth/auth.module.js';
import { CleanupModule } from './cleanup/cleanup.module.js';
import { ApiExceptionFilter } from './common/api-exception.filter.js';
import { StrictValidationPipe } from './common/strict-validation.pipe.js';
import type { EnvironmentVariables } from './config/settings.js';
import { httpSettings, type HttpSettings } from './config/settings.js';
import { SettingsModule } from './config/settings.module.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthModule } from './health/health.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { QueueApiModule } from './transcription/queue/queue-api.module.js';
import { QueueModule } from './transcription/queue/queue.module.js';
import { SessionsModule } from './sessions/sessions.module.js';
import { SessionExportModule } from './session-export/session-export.module.js';
import { TracingModule } from './tracing/tracing.module.js';
import { TranscriptionModule } from './transcription/transcription.module.js';
import { WebAppModule } from './web-app/web-app.module.js';
import { WebhookDeliveryModule } from './webhooks/webhooks.module.js';
import { DevLoginModule } from './auth/dev-login.module.js';

export type Role = EnvironmentVariables['ROLE'];

/** What serves the HTTP API: sessions, uploads, status, analysis, development sign-in. */
const API_MODULES: Type[] = [
  SessionsModule,
  SessionExportModule,
  AnswersModule,
  AnalysisModule,
  QueueApiModule,
  DevLoginModule,
];
/** What does the background work: transcription, webhook delivery and the nightly cleanup. */
const WORKER_MODULES: Type[] = [TranscriptionModule, CleanupModule, WebhookDeliveryModule];

@Module({})
export class AppModule {
  /**
   * ROLE=api serves the API and never transcribes; ROLE=worker transcribes and serves only /health
   * and /metrics; ROLE=all (the default) does both. Instances of any role share work through
   * atomic claims in MongoDB.
   */
  static forRole(role: Role): DynamicModule {
    return {
      module: AppModule,
      imports: [
        SettingsModule,
        LoggingModule,
        TracingModule,
        DatabaseModule,
        EventEmitterModule.forRoot(),
        ScheduleModule.forRoot(),
        ThrottlerModule.forRootAsync({
          inject: [httpSettings.KEY],
          useFactory: (http: HttpSettings) => ({
            throttlers: [
              { name: 'uploads', ttl: 60_000, limit: http.uploadsPerMinute },
              { name: 'analyze', ttl: 60_000, limit: http.analyzePerMinute },
              // HEADs of tus uploads only, whichever guarded route they reach
              {
                name: 'uploadChecks',
                ttl: 60_000,
                limit: http.uploadChecksPerMinute,
                skipIf: (context) => context.switchToHttp().getRequest<{ method: string }>().method !== 'HEAD',
              },
            ],
          }),
        }),
        AuthModule,
        MetricsModule,
        QueueModule,
        HealthModule,
        ...(role === 'worker' ? [] : [...API_MODULES, WebAppModule.forBuiltApp()]),
        ...(role === 'api' ? [] : WORKER_MODULES),
      ],
      providers: [
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        { provide: APP_PIPE, useClass: StrictValidationPipe },
      ],
    };
  }
}
