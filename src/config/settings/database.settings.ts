import { type ConfigType, registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { type EnvironmentRule, readEnvironment } from '../read-environment.js';
import { emptyToUndefined, IntegerSetting } from '../setting-rules.js';
import type { ServerEnvironment } from './server.settings.js';

export class DatabaseEnvironment {
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^mongodb(\+srv)?:\/\/\S+$/, { message: 'MONGODB_URI must start with mongodb:// or mongodb+srv://' })
  MONGODB_URI?: string;

  @IsIn(['auto', 'on', 'off'], { message: 'MONGODB_DOCUMENT_LOCKS must be auto, on or off' })
  MONGODB_DOCUMENT_LOCKS: 'auto' | 'on' | 'off' = 'auto';

  /**
   * Connections this instance keeps to the database, so also how many commands it has in flight
   * at once. FerretDB 1.24 on PostgreSQL takes two of its PostgreSQL connections for every update
   * and findAndModify (the write's transaction is begun while the query's connection is still
   * held) and stalls for good once its pool (`pool_max_conns`, 50) is filled with such halves:
   * the sum over all instances must stay at most half of that pool. A `maxPoolSize` in
   * MONGODB_URI takes precedence.
   */
  @IntegerSetting(1, 500)
  MONGODB_MAX_POOL_SIZE = 10;
}

export const databaseSettings = registerAs('database', () => {
  const e = readEnvironment([DatabaseEnvironment]);
  return { uri: e.MONGODB_URI, documentLocks: e.MONGODB_DOCUMENT_LOCKS, maxPoolSize: e.MONGODB_MAX_POOL_SIZE };
});

export type DatabaseSettings = ConfigType<typeof databaseSettings>;

/** Outside production an embedded MongoDB stands in (main.ts starts it). */
export const databaseRules: EnvironmentRule<DatabaseEnvironment & ServerEnvironment>[] = [
  (e) =>
    e.NODE_ENV === 'production' && !e.MONGODB_URI ? 'MONGODB_URI must be set when NODE_ENV=production' : undefined,
];
