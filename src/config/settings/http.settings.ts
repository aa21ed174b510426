import { type ConfigType, registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsOptional, Matches } from 'class-validator';
import { readEnvironment } from '../read-environment.js';
import { corsOriginList, emptyToUndefined, IntegerSetting } from '../setting-rules.js';

/** The HTTP server. main.ts reads PORT, CORS_ORIGINS and the timeouts at boot; the rest is injected. */
export class HttpEnvironment {
  @IntegerSetting(0, 65535)
  PORT = 3000;

  /** Comma-separated origins allowed to call the API from a browser; unset: same origin only. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/[^,\s]+(,\s*https?:\/\/[^,\s]+)*$/, {
    message: 'CORS_ORIGINS must be a comma-separated list of origins such as https://app.example.com',
  })
  CORS_ORIGINS?: string;

  @IntegerSetting(1, 100_000)
  RATE_LIMIT_UPLOADS_PER_MINUTE = 120;

  @IntegerSetting(1, 100_000)
  RATE_LIMIT_ANALYZE_PER_MINUTE = 60;

  /** HEAD /api/uploads/:id (where a tus upload stands) per user and minute: a bucket of its own. */
  @IntegerSetting(1, 100_000)
  RATE_LIMIT_UPLOAD_CHECKS_PER_MINUTE = 120;

  @IntegerSetting(1000, 86_400_000)
  HTTP_REQUEST_TIMEOUT_MS = 3_600_000;

  @IntegerSetting(1000, 3_600_000)
  HTTP_IDLE_TIMEOUT_MS = 120_000;
}

export const httpSettings = registerAs('http', () => {
  const e = readEnvironment([HttpEnvironment]);
  return {
    requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
    uploadsPerMinute: e.RATE_LIMIT_UPLOADS_PER_MINUTE,
    analyzePerMinute: e.RATE_LIMIT_ANALYZE_PER_MINUTE,
    uploadChecksPerMinute: e.RATE_LIMIT_UPLOAD_CHECKS_PER_MINUTE,
    corsOrigins: corsOriginList(e.CORS_ORIGINS),
  };
});

export type HttpSettings = ConfigType<typeof httpSettings>;
