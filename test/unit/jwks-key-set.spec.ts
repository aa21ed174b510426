import { jwtVerify } from 'jose';
import jwt from 'jsonwebtoken';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JWKS_TIMINGS, JwksKeySet } from '../../src/auth/jwks-key-set.js';
import { JwksServer } from '../support/jwks-server.js';

// the rules jose's remote key set does not keep by itself (the lockout ones are in security.e2e-spec)
const TIMINGS = { ...JWKS_TIMINGS, minRefreshMs: 200, maxAgeMs: 400 };

let jwks: JwksServer;
let keys: JwksKeySet;

beforeEach(async () => {
  jwks = await JwksServer.start();
  keys = new JwksKeySet(jwks.url, TIMINGS);
});

afterEach(async () => {
  await jwks?.close();
});

const verdict = (token: string) =>
  jwtVerify(token, keys.keyFor).then(
    () => 'accepted',
    (error: Error) => error.name,
  );
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('JwksKeySet', () => {
  it('serves known keys from a stale set while the provider is down, trying again behind them at most once per interval', async () => {
    const token = jwks.sign('rsa-1');
    expect(await verdict(token)).toBe('accepted');
    jwks.status = 503;
    await sleep(TIMINGS.maxAgeMs + 50);
    const before = jwks.requests;
    const verdicts: string[] = [];
    const started = Date.now();
    while (Date.now() - started < 1_000) {
      verdicts.push(await verdict(token));
      await sleep(20);
    }
    expect(new Set(verdicts)).toEqual(new Set(['accepted']));
    await sleep(TIMINGS.minRefreshMs);
    const fetches = jwks.requests - before;
    expect(fetches).toBeGreaterThanOrEqual(1);
    expect(fetches).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / TIMINGS.minRefreshMs) + 1);
  });

  it('paces failed fetches too: unknown key ids during an outage cost one fetch per interval', async () => {
    expect(await verdict(jwks.sign('rsa-1'))).toBe('accepted');
    jwks.status = 500;
    const before = jwks.requests;
    const started = Date.now();
    for (let i = 0; i < 8; i++) {
      const junk = jwt.sign({ sub: 'x' }, jwks.key('rsa-1').privateKey, {
        algorithm: 'RS256',
        keyid: `junk-${i}`,
        expiresIn: 600,
      });
      expect(await verdict(junk)).not.toBe('accepted');
    }
    expect(jwks.requests - before).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / TIMINGS.minRefreshMs) + 1);
  });

  it('accepts a token without a kid only when the provider publishes a single key', async () => {
    const withoutKid = (kid: string) =>
      jwt.sign({ sub: 'x' }, jwks.key(kid).privateKey, { algorithm: jwks.key(kid).alg, expiresIn: 600 });
    // rsa-1 and ec-1 are published: jose alone would take the only RSA key
    expect(await verdict(withoutKid('rsa-1'))).toBe('JWKSNoMatchingKey');
    jwks.rotate('solo', 'RS256');
    keys = new JwksKeySet(jwks.url, TIMINGS);
    expect(await verdict(withoutKid('solo'))).toBe('accepted');
  });

  it('refuses an unusable key id without asking the provider', async () => {
    expect(await verdict(jwks.sign('rsa-1'))).toBe('accepted');
    const before = jwks.requests;
    for (const kid of [5, '', 'k'.repeat(257)]) {
      const token = jwt.sign({ sub: 'x' }, jwks.key('rsa-1').privateKey, {
        algorithm: 'RS256',
        expiresIn: 600,
        header: { alg: 'RS256', kid } as unknown as jwt.JwtHeader,
      });
      expect(await verdict(token)).toBe('JWKSNoMatchingKey');
    }
    expect(jwks.requests).toBe(before);
  });
});
