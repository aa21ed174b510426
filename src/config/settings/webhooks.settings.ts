import { type ConfigType, registerAs } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, MinLength, Validate } from 'class-validator';
import { type EnvironmentRule, readEnvironment } from '../read-environment.js';
import { emptyToUndefined, IntegerSetting, IsWebhookSecrets, toBoolean } from '../setting-rules.js';
import { webhookSigningKeys } from '../webhook-secrets.js';

export class WebhookEnvironment {
  /**
   * Standard Webhooks secrets (whsec_…) that sign every event; several, separated by spaces, while
   * one is rotated. Sessions may only carry a webhook_url when it is set.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Validate(IsWebhookSecrets)
  WEBHOOK_SECRET?: string;

  /**
   * Deprecated, for one release: when set, deliveries also carry the earlier X-Webhook-* headers,
   * signed with this (the earlier WEBHOOK_SECRET), for receivers not yet moved to the standard.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'WEBHOOK_LEGACY_SECRET must be at least 16 characters long' })
  WEBHOOK_LEGACY_SECRET?: string;

  @IntegerSetting(0, 30)
  WEBHOOK_MAX_RETRIES = 8;

  @IntegerSetting(100, 120_000)
  WEBHOOK_TIMEOUT_MS = 10_000;

  /** The first retry waits this long; each next one twice as long (with jitter), up to an hour. */
  @IntegerSetting(10, 3_600_000)
  WEBHOOK_RETRY_BASE_MS = 10_000;

  @IntegerSetting(50, 600_000)
  WEBHOOK_POLL_MS = 5_000;

  @Transform(toBoolean)
  @IsBoolean({ message: 'WEBHOOK_ALLOW_HTTP must be true or false' })
  WEBHOOK_ALLOW_HTTP = false;

  @Transform(toBoolean)
  @IsBoolean({ message: 'WEBHOOK_ALLOW_PRIVATE must be true or false' })
  WEBHOOK_ALLOW_PRIVATE = false;
}

export const webhookSettings = registerAs('webhooks', () => {
  const e = readEnvironment([WebhookEnvironment]);
  return {
    secret: e.WEBHOOK_SECRET,
    /** Decoded from WEBHOOK_SECRET: every delivery is signed with each. */
    signingKeys: e.WEBHOOK_SECRET ? (webhookSigningKeys(e.WEBHOOK_SECRET) ?? []) : [],
    legacySecret: e.WEBHOOK_LEGACY_SECRET,
    maxRetries: e.WEBHOOK_MAX_RETRIES,
    timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
    pollMs: e.WEBHOOK_POLL_MS,
    allowHttp: e.WEBHOOK_ALLOW_HTTP,
    allowPrivate: e.WEBHOOK_ALLOW_PRIVATE,
  };
});

export type WebhookSettings = ConfigType<typeof webhookSettings>;

export const webhookRules: EnvironmentRule<WebhookEnvironment>[] = [
  (e) =>
    e.WEBHOOK_LEGACY_SECRET && !e.WEBHOOK_SECRET
      ? 'WEBHOOK_LEGACY_SECRET only adds the old headers; set WEBHOOK_SECRET (whsec_…) as well'
      : undefined,
];
