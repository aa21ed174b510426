import { type ConfigType, registerAs } from '@nestjs/config';
import { validateEnvironment } from './environment.js';
import { webhookSigningKeys } from './webhook-secrets.js';

/**
 * The validated environment, split into one typed settings object per domain. Each class injects
 * only its own domain's (`@Inject(transcriptionSettings.KEY) settings: TranscriptionSettings`), so
 * a reader sees at the constructor what a class depends on, and a test can override one domain.
 * Validation happens once for the whole environment (main.ts stops with one line naming the
 * variable); these factories read the same validated values.
 */
const env = () => validateEnvironment(process.env);

export const databaseSettings = registerAs('database', () => {
  const e = env();
  return { uri: e.MONGODB_URI, documentLocks: e.MONGODB_DOCUMENT_LOCKS, maxPoolSize: e.MONGODB_MAX_POOL_SIZE };
});

export const httpSettings = registerAs('http', () => {
  const e = env();
  return {
    requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
    uploadsPerMinute: e.RATE_LIMIT_UPLOADS_PER_MINUTE,
    analyzePerMinute: e.RATE_LIMIT_ANALYZE_PER_MINUTE,
  };
});

/** What one user may keep (sessions) and hold at once (open event streams, uploads in flight), counted in the database. */
export const userLimitSettings = registerAs('userLimits', () => {
  const e = env();
  return {
    sessions: e.MAX_SESSIONS_PER_USER,
    eventStreams: e.MAX_EVENT_STREAMS_PER_USER,
    uploads: e.MAX_CONCURRENT_UPLOADS_PER_USER,
    leaseMs: e.USER_LEASE_MS,
  };
});

export const authSettings = registerAs('auth', () => {
  const e = env();
  return {
    production: e.NODE_ENV === 'production',
    jwtSecret: e.JWT_SECRET,
    jwksUri: e.JWT_JWKS_URI,
    issuer: e.JWT_ISSUER,
    audience: e.JWT_AUDIENCE,
    maxAgeS: e.JWT_MAX_AGE,
    devLogin: e.AUTH_DEV_LOGIN,
  };
});

export const metricsSettings = registerAs('metrics', () => ({ token: env().METRICS_TOKEN }));

/** The OpenAI-compatible provider, for transcription and scoring alike. */
export const providerSettings = registerAs('provider', () => {
  const e = env();
  return { apiKey: e.OPENAI_API_KEY, baseUrl: e.OPENAI_BASE_URL };
});

export const transcriptionSettings = registerAs('transcription', () => {
  const e = env();
  return {
    model: e.TRANSCRIPTION_MODEL,
    language: e.TRANSCRIPTION_LANGUAGE,
    concurrency: e.TRANSCRIPTION_CONCURRENCY,
    maxAttempts: e.TRANSCRIPTION_MAX_ATTEMPTS,
    timeoutMs: e.TRANSCRIPTION_TIMEOUT_MS,
    retry: { baseMs: e.TRANSCRIPTION_RETRY_BASE_MS, maxMs: e.TRANSCRIPTION_RETRY_MAX_MS },
    leaseMs: e.TRANSCRIPTION_LEASE_MS,
    pollMs: e.TRANSCRIPTION_POLL_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    maxFileBytes: e.TRANSCRIPTION_MAX_FILE_BYTES,
    pieceSeconds: e.TRANSCRIPTION_PIECE_SECONDS,
    pieceConcurrency: e.TRANSCRIPTION_PIECE_CONCURRENCY,
    transcriptBounds: { answerMaxBytes: e.TRANSCRIPT_MAX_BYTES, sessionMaxBytes: e.SESSION_TRANSCRIPTS_MAX_BYTES },
    ffmpegPath: e.FFMPEG_PATH,
    ffprobePath: e.FFPROBE_PATH,
    responseFormat: e.TRANSCRIPTION_RESPONSE_FORMAT,
    speechGuard: {
      enabled: e.TRANSCRIPTION_SPEECH_GUARD,
      silenceDb: e.TRANSCRIPTION_SILENCE_DB,
      minSpeechSeconds: e.TRANSCRIPTION_MIN_SPEECH_MS / 1000,
    },
  };
});

export const storageSettings = registerAs('storage', () => {
  const e = env();
  return {
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    chunkSizeBytes: e.GRIDFS_CHUNK_SIZE_BYTES,
    resumableExpiryMs: e.RESUMABLE_UPLOAD_EXPIRY_MS,
    resumableLeaseMs: e.RESUMABLE_UPLOAD_LEASE_MS,
  };
});

export const scoringSettings = registerAs('scoring', () => {
  const e = env();
  return {
    model: e.SCORING_MODEL,
    modelKind: e.SCORING_MODEL_KIND,
    maxAttempts: e.SCORING_MAX_ATTEMPTS,
    timeoutMs: e.SCORING_TIMEOUT_MS,
    claimMs: e.SCORING_CLAIM_MS,
    // a waiting analyze call answers (202) well before the connection's idle timeout closes it
    maxWaitMs: Math.floor(e.HTTP_IDLE_TIMEOUT_MS * 0.8),
    samples: e.SCORING_SAMPLES,
    reviewSpread: e.SCORING_REVIEW_SPREAD,
    // scoring runs as many answers at once as transcription does jobs
    concurrency: e.TRANSCRIPTION_CONCURRENCY,
  };
});

/** How an answer's delivery (pace, pauses) is measured. */
export const deliverySettings = registerAs('delivery', () => {
  const e = env();
  return { pauseThresholdSeconds: e.DELIVERY_PAUSE_MS / 1000 };
});

/** How live clients (SSE, waiting analyze calls) learn of changes. */
export const liveSettings = registerAs('live', () => {
  const e = env();
  return { watchMs: e.SESSION_WATCH_MS, heartbeatMs: e.SSE_HEARTBEAT_MS };
});

export const cleanupSettings = registerAs('cleanup', () => {
  const e = env();
  return {
    cron: e.CLEANUP_CRON,
    audioRetentionMs: e.AUDIO_RETENTION_HOURS * 3_600_000,
    sessionRetentionMs: e.SESSION_RETENTION_DAYS === undefined ? undefined : e.SESSION_RETENTION_DAYS * 86_400_000,
    // no upload outlives its request deadline, so older chunks without a files document are garbage
    maxUploadMs: e.HTTP_REQUEST_TIMEOUT_MS,
  };
});

export const webhookSettings = registerAs('webhooks', () => {
  const e = env();
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

/** OpenTelemetry tracing, started in main.ts before the application; the SDK reads the other OTEL_* itself. */
export const tracingSettings = registerAs('tracing', () => {
  const e = env();
  return {
    enabled: Boolean(e.OTEL_EXPORTER_OTLP_ENDPOINT || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
    serviceName: e.OTEL_SERVICE_NAME,
  };
});

/** Every domain's settings, for ConfigModule.forRoot({ load }). */
export const ALL_SETTINGS = [
  databaseSettings,
  httpSettings,
  userLimitSettings,
  authSettings,
  metricsSettings,
  providerSettings,
  transcriptionSettings,
  storageSettings,
  scoringSettings,
  deliverySettings,
  liveSettings,
  cleanupSettings,
  webhookSettings,
  tracingSettings,
];

export type DatabaseSettings = ConfigType<typeof databaseSettings>;
export type HttpSettings = ConfigType<typeof httpSettings>;
export type UserLimitSettings = ConfigType<typeof userLimitSettings>;
export type AuthSettings = ConfigType<typeof authSettings>;
export type MetricsSettings = ConfigType<typeof metricsSettings>;
export type ProviderSettings = ConfigType<typeof providerSettings>;
export type TranscriptionSettings = ConfigType<typeof transcriptionSettings>;
export type StorageSettings = ConfigType<typeof storageSettings>;
export type ScoringSettings = ConfigType<typeof scoringSettings>;
export type DeliverySettings = ConfigType<typeof deliverySettings>;
export type LiveSettings = ConfigType<typeof liveSettings>;
export type CleanupSettings = ConfigType<typeof cleanupSettings>;
export type WebhookSettings = ConfigType<typeof webhookSettings>;
export type TracingSettings = ConfigType<typeof tracingSettings>;
