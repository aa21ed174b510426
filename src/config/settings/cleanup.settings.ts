import { type ConfigType, registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsOptional, Max, Min, Validate } from 'class-validator';
import { readEnvironment } from '../read-environment.js';
import { IntegerSetting, IsCronExpression } from '../setting-rules.js';
import { HttpEnvironment } from './http.settings.js';

export class CleanupEnvironment {
  @Validate(IsCronExpression)
  CLEANUP_CRON = '0 3 * * *';

  @Transform(({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value)))
  // At least an hour: younger chunks may belong to an upload that is still streaming in.
  @Min(1, { message: 'AUDIO_RETENTION_HOURS must be a number of hours from 1 to 8760' })
  @Max(8760, { message: 'AUDIO_RETENTION_HOURS must be a number of hours from 1 to 8760' })
  AUDIO_RETENTION_HOURS = 24;

  @IsOptional()
  @IntegerSetting(
    1,
    36_500,
    'SESSION_RETENTION_DAYS must be a whole number of days from 1 to 36500 (or unset: keep forever)',
  )
  SESSION_RETENTION_DAYS?: number;
}

export const cleanupSettings = registerAs('cleanup', () => {
  const e = readEnvironment([CleanupEnvironment, HttpEnvironment]);
  return {
    cron: e.CLEANUP_CRON,
    audioRetentionMs: e.AUDIO_RETENTION_HOURS * 3_600_000,
    sessionRetentionMs: e.SESSION_RETENTION_DAYS === undefined ? undefined : e.SESSION_RETENTION_DAYS * 86_400_000,
    // no upload outlives its request deadline, so older chunks without a files document are garbage
    maxUploadMs: e.HTTP_REQUEST_TIMEOUT_MS,
  };
});

export type CleanupSettings = ConfigType<typeof cleanupSettings>;
