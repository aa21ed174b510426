import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  Validate,
  validateSync,
  ValidationError,
} from 'class-validator';
import { ModelEnvironment } from './model-environment.js';
import { emptyToUndefined, IntegerSetting, IsCronExpression, IsWebhookSecrets, toBoolean } from './setting-rules.js';

const OTLP_URL = /^https?:\/\/\S+$/;
const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;

/**
 * Every setting the server reads from its environment, validated once at boot.
 * Secrets are never echoed back in error messages.
 */
export class EnvironmentVariables extends ModelEnvironment {
  @IsIn(['development', 'production', 'test'], { message: 'NODE_ENV must be development, production or test' })
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @IntegerSetting(0, 65535)
  PORT = 3000;

  /** api serves HTTP and never transcribes; worker transcribes and serves only /health and /metrics. */
  @IsIn(['api', 'worker', 'all'], { message: 'ROLE must be api, worker or all' })
  ROLE: 'api' | 'worker' | 'all' = 'all';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace'], {
    message: 'LOG_LEVEL must be fatal, error, warn, info, debug or trace',
  })
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' = 'info';

  /** When set, GET /metrics asks for "Authorization: Bearer <METRICS_TOKEN>". */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters long' })
  METRICS_TOKEN?: string;

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

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'JWT_SECRET must be at least 16 characters long' })
  JWT_SECRET?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: "JWT_JWKS_URI must be the http(s) URL of your identity provider's JWKS" })
  JWT_JWKS_URI?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  JWT_ISSUER?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  JWT_AUDIENCE?: string;

  /** The longest lifetime (exp - iat, in seconds) a bearer token may have; longer ones are refused. */
  @IntegerSetting(60, 30 * 86_400, 'JWT_MAX_AGE must be a whole number of seconds from 60 to 2592000 (30 days)')
  JWT_MAX_AGE = 86_400;

  /**
   * Development sign-in: POST /api/auth/dev-token mints a token for any user id. Refused whenever
   * NODE_ENV=production, whatever this says.
   */
  @Transform(toBoolean)
  @IsBoolean({ message: 'AUTH_DEV_LOGIN must be true or false' })
  AUTH_DEV_LOGIN = false;

  /** Comma-separated origins allowed to call the API from a browser; unset: same origin only. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/[^,\s]+(,\s*https?:\/\/[^,\s]+)*$/, {
    message: 'CORS_ORIGINS must be a comma-separated list of origins such as https://app.example.com',
  })
  CORS_ORIGINS?: string;

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

  @IntegerSetting(1, 100_000)
  RATE_LIMIT_UPLOADS_PER_MINUTE = 120;

  @IntegerSetting(1, 100_000)
  RATE_LIMIT_ANALYZE_PER_MINUTE = 60;

  /** Sessions one user may keep (erased ones do not count); creating one more answers 409. */
  @IntegerSetting(1, 10_000_000)
  MAX_SESSIONS_PER_USER = 10_000;

  /** Server-Sent Event streams (GET /api/sessions/:id/events) one user may hold open at once, on all instances. */
  @IntegerSetting(1, 10_000)
  MAX_EVENT_STREAMS_PER_USER = 10;

  /** Uploads (multipart POSTs and tus PATCHes) one user may have in flight at once, on all instances. */
  @IntegerSetting(1, 10_000)
  MAX_CONCURRENT_UPLOADS_PER_USER = 4;

  /** A stream's or upload's lease row lives this long unless renewed; a crashed instance's leases lapse after it. */
  @IntegerSetting(200, 600_000)
  USER_LEASE_MS = 30_000;

  /** UTF-8 bytes one answer's transcript may take (its segments as many again); a longer text is stored cut and flagged. */
  @IntegerSetting(1024, 4_194_304)
  TRANSCRIPT_MAX_BYTES = 262_144;

  /** UTF-8 bytes all transcripts of a session may take, shared evenly by its questions (segments as many again). */
  @IntegerSetting(65_536, 2_097_152)
  SESSION_TRANSCRIPTS_MAX_BYTES = 524_288;

  @IntegerSetting(1000, 86_400_000)
  HTTP_REQUEST_TIMEOUT_MS = 3_600_000;

  @IntegerSetting(1000, 3_600_000)
  HTTP_IDLE_TIMEOUT_MS = 120_000;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString({ message: 'OPENAI_API_KEY must be a string' })
  OPENAI_API_KEY?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'OPENAI_BASE_URL must be an http(s) URL, e.g. https://api.openai.com/v1' })
  OPENAI_BASE_URL?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[a-z]{2}$/, { message: 'TRANSCRIPTION_LANGUAGE must be an ISO-639-1 code such as en' })
  TRANSCRIPTION_LANGUAGE?: string;

  @IntegerSetting(1, 64)
  TRANSCRIPTION_CONCURRENCY = 4;

  /** The provider refuses larger files (OpenAI: 25 MB); larger recordings are compressed and split. */
  @IntegerSetting(64 * 1024, 1024 ** 3)
  TRANSCRIPTION_MAX_FILE_BYTES = 26_214_400;

  /** Longest piece a compressed recording is cut into (at a silence near this length). */
  @IntegerSetting(10, 1400)
  TRANSCRIPTION_PIECE_SECONDS = 600;

  /** Pieces of one recording sent to the provider at the same time. */
  @IntegerSetting(1, 16)
  TRANSCRIPTION_PIECE_CONCURRENCY = 3;

  /** The ffmpeg executable (a name looked up on PATH, or a path). */
  @IsString({ message: 'FFMPEG_PATH must be a path or a command name' })
  @MinLength(1, { message: 'FFMPEG_PATH must be a path or a command name' })
  FFMPEG_PATH = 'ffmpeg';

  /** The ffprobe executable; unset: the ffprobe next to FFMPEG_PATH. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString({ message: 'FFPROBE_PATH must be a path or a command name' })
  FFPROBE_PATH?: string;

  @IntegerSetting(1, 20)
  TRANSCRIPTION_MAX_ATTEMPTS = 5;

  @IntegerSetting(100, 3_600_000)
  TRANSCRIPTION_TIMEOUT_MS = 300_000;

  @IntegerSetting(1, 600_000)
  TRANSCRIPTION_RETRY_BASE_MS = 2_000;

  @IntegerSetting(1, 3_600_000)
  TRANSCRIPTION_RETRY_MAX_MS = 60_000;

  @IntegerSetting(1_000, 600_000)
  TRANSCRIPTION_LEASE_MS = 30_000;

  @IntegerSetting(100, 600_000)
  TRANSCRIPTION_POLL_MS = 5_000;

  @IntegerSetting(0, 600_000)
  SHUTDOWN_GRACE_MS = 15_000;

  @IntegerSetting(1024, 16 * 1024 ** 3, 'MAX_UPLOAD_BYTES must be an integer from 1024 to 17179869184 (16 GiB)')
  MAX_UPLOAD_BYTES = 1024 ** 3;

  @IntegerSetting(1, 10)
  SCORING_MAX_ATTEMPTS = 3;

  @IntegerSetting(100, 600_000)
  SCORING_TIMEOUT_MS = 60_000;

  /** The right to score a session lapses this long after its holder last renewed it (every fifth of it). */
  @IntegerSetting(1000, 3_600_000)
  SCORING_CLAIM_MS = 300_000;

  /** Independent LLM scorings of each answer; the stored score is their median. */
  @IntegerSetting(1, 9)
  SCORING_SAMPLES = 3;

  /** Points (0–100) between the highest and lowest sample above which an answer needs review. */
  @IntegerSetting(0, 100)
  SCORING_REVIEW_SPREAD = 20;

  /** A silence between words at least this long is a pause in the delivery measures. */
  @IntegerSetting(250, 10_000)
  DELIVERY_PAUSE_MS = 1000;

  @IntegerSetting(50, 60_000)
  SESSION_WATCH_MS = 500;

  @IntegerSetting(100, 300_000)
  SSE_HEARTBEAT_MS = 15_000;

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

  @IntegerSetting(16 * 1024, 8 * 1024 * 1024)
  GRIDFS_CHUNK_SIZE_BYTES = 255 * 1024;

  /** An unfinished resumable (tus) upload expires this long after it was created. */
  @IntegerSetting(1_000, 30 * 86_400_000)
  RESUMABLE_UPLOAD_EXPIRY_MS = 86_400_000;

  /** A writer that stops renewing its hold on a resumable upload (a crash) lets go after this long. */
  @IntegerSetting(1_000, 600_000)
  RESUMABLE_UPLOAD_LEASE_MS = 15_000;

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

export class ConfigurationError extends Error {}

function firstMessage(errors: ValidationError[]): string {
  for (const error of errors) {
    const messages = Object.values(error.constraints ?? {});
    if (messages.length > 0) return messages[0];
  }
  return 'invalid configuration';
}

/**
 * Validates the raw environment and returns typed settings.
 * Throws a ConfigurationError whose message is one line naming the variable.
 */
export function validateEnvironment(raw: Record<string, unknown>): EnvironmentVariables {
  const env = plainToInstance(EnvironmentVariables, raw, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    throw new ConfigurationError(`Invalid configuration: ${firstMessage(errors)}.`);
  }
  if (env.NODE_ENV === 'production' && !env.JWT_SECRET && !env.JWT_JWKS_URI) {
    throw new ConfigurationError('Invalid configuration: JWT_SECRET must be set when NODE_ENV=production.');
  }
  if (env.NODE_ENV === 'production' && env.JWT_JWKS_URI?.startsWith('http://')) {
    throw new ConfigurationError(
      'Invalid configuration: JWT_JWKS_URI must use https when NODE_ENV=production (keys fetched over plain http can be forged in transit).',
    );
  }
  if (env.WEBHOOK_LEGACY_SECRET && !env.WEBHOOK_SECRET) {
    throw new ConfigurationError(
      'Invalid configuration: WEBHOOK_LEGACY_SECRET only adds the old headers; set WEBHOOK_SECRET (whsec_…) as well.',
    );
  }
  if (env.NODE_ENV === 'production' && !env.MONGODB_URI) {
    throw new ConfigurationError('Invalid configuration: MONGODB_URI must be set when NODE_ENV=production.');
  }
  return env;
}
