import type { DynamicModule, Provider, Type } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test, type TestingModule } from '@nestjs/testing';
import { MongoClient, type Db } from 'mongodb';
import { SettingsModule } from '../../src/config/settings.module.js';
import { Clock } from '../../src/database/clock.js';
import { DatabaseModule } from '../../src/database/database.module.js';
import { LoggingModule } from '../../src/logging/logging.module.js';
import { MetricsModule } from '../../src/metrics/metrics.module.js';
import { freshDatabaseUri } from './database.js';
import { ManualClock } from './manual-clock.js';

/** Settings that keep the medium tests quick; a test adds its own. */
const MEDIUM_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'warn',
  JWT_SECRET: 'medium-tests-secret-0123456789',
  TRANSCRIPTION_LEASE_MS: '30000',
  TRANSCRIPTION_RETRY_BASE_MS: '2000',
  TRANSCRIPTION_RETRY_MAX_MS: '60000',
  TRANSCRIPTION_TIMEOUT_MS: '10000',
};

export interface MediumApp {
  module: TestingModule;
  clock: ManualClock;
  db: Db;
  get<T>(type: Type<T>): T;
  close(): Promise<void>;
}

/**
 * Repositories, the queue, the job or the cleanup in this process (a Nest TestingModule), against
 * a database of their own on the real server, with a clock the test moves. No HTTP, no build.
 */
export async function startMedium(
  label: string,
  options: { imports?: (Type | DynamicModule)[]; providers?: Provider[]; env?: Record<string, string> } = {},
): Promise<MediumApp> {
  const uri = freshDatabaseUri(label);
  Object.assign(process.env, MEDIUM_ENV, { MONGODB_URI: uri }, options.env);
  const clock = new ManualClock();
  const module = await Test.createTestingModule({
    imports: [
      SettingsModule,
      LoggingModule,
      DatabaseModule,
      EventEmitterModule.forRoot(),
      MetricsModule,
      ...(options.imports ?? []),
    ],
    providers: options.providers ?? [],
  })
    .overrideProvider(Clock)
    .useValue(clock)
    .compile();
  await module.init();
  const client = await MongoClient.connect(uri);
  const db = client.db();
  return {
    module,
    clock,
    db,
    get: <T>(type: Type<T>) => module.get(type, { strict: false }),
    close: async () => {
      await module.close();
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
}
