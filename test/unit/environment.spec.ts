import { describe, expect, it } from 'vitest';
import { validateEnvironment } from '../../src/config/settings.js';

describe('validateEnvironment', () => {
  it('fills in documented defaults', () => {
    const env = validateEnvironment({});
    expect(env).toMatchObject({
      NODE_ENV: 'development',
      PORT: 3000,
      TRANSCRIPTION_MODEL: 'gpt-transcribe',
      SCORING_MODEL: 'gpt-6-luna',
      TRANSCRIPTION_RESPONSE_FORMAT: 'auto',
      TRANSCRIPTION_SPEECH_GUARD: true,
      TRANSCRIPTION_VAD_MODE: 3,
      TRANSCRIPTION_CONCURRENCY: 4,
      TRANSCRIPTION_MAX_ATTEMPTS: 5,
      MAX_UPLOAD_BYTES: 1024 ** 3,
      MONGODB_DOCUMENT_LOCKS: 'auto',
      MONGODB_MAX_POOL_SIZE: 10,
    });
    expect(env.MONGODB_URI).toBeUndefined();
    expect(env.OPENAI_API_KEY).toBeUndefined();
  });

  it('converts numbers and treats empty strings as unset', () => {
    const env = validateEnvironment({ PORT: '8080', OPENAI_API_KEY: '', TRANSCRIPTION_CONCURRENCY: ' 8 ' });
    expect(env.PORT).toBe(8080);
    expect(env.TRANSCRIPTION_CONCURRENCY).toBe(8);
    expect(env.OPENAI_API_KEY).toBeUndefined();
  });

  it('never echoes a secret in its message', () => {
    expect(() => validateEnvironment({ JWT_SECRET: 'tiny-secret' })).toThrow(
      'Invalid configuration: JWT_SECRET must be at least 16 characters long.',
    );
  });

  it('refuses a plain-http JWT_JWKS_URI in production, and only there', () => {
    const production = { NODE_ENV: 'production', MONGODB_URI: 'mongodb://db/x' };
    expect(() => validateEnvironment({ ...production, JWT_JWKS_URI: 'http://id.example.com/jwks.json' })).toThrow(
      'Invalid configuration: JWT_JWKS_URI must use https when NODE_ENV=production (keys fetched over plain http can be forged in transit).',
    );
    expect(validateEnvironment({ ...production, JWT_JWKS_URI: 'https://id.example.com/jwks.json' }).JWT_JWKS_URI).toBe(
      'https://id.example.com/jwks.json',
    );
    expect(validateEnvironment({ JWT_JWKS_URI: 'http://127.0.0.1:9/jwks.json' }).JWT_JWKS_URI).toBeDefined();
  });

  it('caps token lifetimes with JWT_MAX_AGE (seconds, default a day)', () => {
    expect(validateEnvironment({}).JWT_MAX_AGE).toBe(86_400);
    expect(validateEnvironment({ JWT_MAX_AGE: '3600' }).JWT_MAX_AGE).toBe(3600);
    for (const bad of ['0', '1h', '9999999999']) {
      expect(() => validateEnvironment({ JWT_MAX_AGE: bad })).toThrow(
        'Invalid configuration: JWT_MAX_AGE must be a whole number of seconds from 60 to 2592000 (30 days).',
      );
    }
  });

  it('requires MONGODB_URI and JWT_SECRET in production', () => {
    expect(() => validateEnvironment({ NODE_ENV: 'production', MONGODB_URI: 'mongodb://db/x' })).toThrow(
      /JWT_SECRET must be set/,
    );
    expect(() => validateEnvironment({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) })).toThrow(
      /MONGODB_URI must be set/,
    );
  });
  it('reads AUTH_DEV_LOGIN as a boolean, off by default', () => {
    expect(validateEnvironment({}).AUTH_DEV_LOGIN).toBe(false);
    expect(validateEnvironment({ AUTH_DEV_LOGIN: 'true' }).AUTH_DEV_LOGIN).toBe(true);
    expect(validateEnvironment({ AUTH_DEV_LOGIN: 'false' }).AUTH_DEV_LOGIN).toBe(false);
    expect(() => validateEnvironment({ AUTH_DEV_LOGIN: 'yes' })).toThrow(
      'Invalid configuration: AUTH_DEV_LOGIN must be true or false.',
    );
  });

  it('reads WEBHOOK_SECRET as whsec_ secrets, and WEBHOOK_LEGACY_SECRET only beside it', () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    expect(validateEnvironment({ WEBHOOK_SECRET: `${secret} ${secret}` }).WEBHOOK_SECRET).toBe(`${secret} ${secret}`);
    expect(() => validateEnvironment({ WEBHOOK_SECRET: 'x'.repeat(32) })).toThrow(
      /^Invalid configuration: WEBHOOK_SECRET must be one or more secrets of the form whsec_/,
    );
    expect(() => validateEnvironment({ WEBHOOK_LEGACY_SECRET: 'x'.repeat(32) })).toThrow(
      'Invalid configuration: WEBHOOK_LEGACY_SECRET only adds the old headers; set WEBHOOK_SECRET (whsec_…) as well.',
    );
  });
});
