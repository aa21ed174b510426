import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  authSettings,
  cleanupSettings,
  databaseSettings,
  metricsSettings,
  providerSettings,
  scoringSettings,
  tracingSettings,
  transcriptionSettings,
  webhookSettings,
} from '../../src/config/settings.js';

describe('domain settings', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('carry the variables without a default, which a domain class declares but does not initialise', () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    vi.stubEnv('MONGODB_URI', 'mongodb://db/x');
    vi.stubEnv('JWT_SECRET', 'a-long-enough-test-secret');
    vi.stubEnv('JWT_ISSUER', '');
    vi.stubEnv('JWT_AUDIENCE', 'interviews');
    vi.stubEnv('METRICS_TOKEN', 'a-long-enough-metrics-token');
    vi.stubEnv('OPENAI_API_KEY', '');
    vi.stubEnv('OPENAI_BASE_URL', 'http://127.0.0.1:9/v1');
    vi.stubEnv('TRANSCRIPTION_LANGUAGE', 'de');
    vi.stubEnv('FFPROBE_PATH', '/opt/ffprobe');
    vi.stubEnv('SESSION_RETENTION_DAYS', '2');
    vi.stubEnv('WEBHOOK_SECRET', secret);
    vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'http://127.0.0.1:4318/v1/traces');

    expect(databaseSettings().uri).toBe('mongodb://db/x');
    expect(authSettings()).toMatchObject({ jwtSecret: 'a-long-enough-test-secret', audience: 'interviews' });
    expect(authSettings().issuer).toBeUndefined();
    expect(metricsSettings().token).toBe('a-long-enough-metrics-token');
    expect(providerSettings()).toEqual({ apiKey: undefined, baseUrl: 'http://127.0.0.1:9/v1' });
    expect(transcriptionSettings()).toMatchObject({ language: 'de', ffprobePath: '/opt/ffprobe' });
    expect(cleanupSettings().sessionRetentionMs).toBe(2 * 86_400_000);
    expect(webhookSettings()).toMatchObject({ secret, signingKeys: [Buffer.alloc(32, 7)] });
    expect(tracingSettings().enabled).toBe(true);
  });

  it('read the variables of another domain that they use', () => {
    vi.stubEnv('NODE_ENV', 'production');
    vi.stubEnv('HTTP_IDLE_TIMEOUT_MS', '10000');
    vi.stubEnv('HTTP_REQUEST_TIMEOUT_MS', '5000');
    vi.stubEnv('TRANSCRIPTION_CONCURRENCY', '7');

    expect(authSettings().production).toBe(true);
    expect(scoringSettings()).toMatchObject({ maxWaitMs: 8000, concurrency: 7 });
    expect(cleanupSettings().maxUploadMs).toBe(5000);
  });

  it('stop with the one line naming a bad variable of any domain they read', () => {
    vi.stubEnv('HTTP_IDLE_TIMEOUT_MS', 'soon');
    expect(() => scoringSettings()).toThrow(
      'Invalid configuration: HTTP_IDLE_TIMEOUT_MS must be an integer from 1000 to 3600000.',
    );
  });
});
