import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
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
import { type EnvironmentVariables, validateEnvironment } from './config/environment.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthModule } from './health/health.module.js';
import { SessionsModule } from './sessions/sessions.module.js';
import { TranscriptionModule } from './transcription/transcription.module.js';
import { webAppModules } from './web-app/web-app.module.js';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, cache: true, validate: validateEnvironment }),
    DatabaseModule,
    EventEmitterModule.forRoot(),
    ScheduleModule.forRoot(),
    ThrottlerModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<EnvironmentVariables, true>) => ({
        throttlers: [
          { name: 'uploads', ttl: 60_000, limit: config.get('RATE_LIMIT_UPLOADS_PER_MINUTE', { infer: true }) },
          { name: 'analyze', ttl: 60_000, limit: config.get('RATE_LIMIT_ANALYZE_PER_MINUTE', { infer: true }) },
        ],
      }),
    }),
    AuthModule,
    SessionsModule,
    AnswersModule,
    TranscriptionModule,
    AnalysisModule,
    CleanupModule,
    HealthModule,
    ...webAppModules(),
  ],
  providers: [
    { provide: APP_FILTER, useClass: ApiExceptionFilter },
    { provide: APP_PIPE, useClass: StrictValidationPipe },
  ],
})
export class AppModule {}
