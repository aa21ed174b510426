import { type ConfigType, registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { type EnvironmentRule, readEnvironment } from '../read-environment.js';
import { emptyToUndefined } from '../setting-rules.js';
import type { ServerEnvironment } from './server.settings.js';

export class DatabaseEnvironment {
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^mongodb(\+srv)?:\/\/\S+$/, { message: 'MONGODB_URI must start with mongodb:// or mongodb+srv://' })
  MONGODB_URI?: string;

  @IsIn(['auto', 'on', 'off'], { message: 'MONGODB_DOCUMENT_LOCKS must be auto, on or off' })
  MONGODB_DOCUMENT_LOCKS: 'auto' | 'on' | 'off' = 'auto';
}

export const databaseSettings = registerAs('database', () => {
  const e = readEnvironment([DatabaseEnvironment]);
  return { uri: e.MONGODB_URI, documentLocks: e.MONGODB_DOCUMENT_LOCKS };
});

export type DatabaseSettings = ConfigType<typeof databaseSettings>;

/** Outside production an embedded MongoDB stands in (main.ts starts it). */
export const databaseRules: EnvironmentRule<DatabaseEnvironment & ServerEnvironment>[] = [
  (e) =>
    e.NODE_ENV === 'production' && !e.MONGODB_URI ? 'MONGODB_URI must be set when NODE_ENV=production' : undefined,
];
