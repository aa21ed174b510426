import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { TEST_JWT_SECRET } from '../support/app-process.js';
import { id3TagHeader, wavTone } from '../support/audio.js';
import { useE2eApp } from '../support/e2e.js';
import { JwksServer } from '../support/jwks-server.js';
import { rawRequest, writeAll } from '../support/raw-http.js';

let jwks: JwksServer;
let alice: ApiClient;

/** HS256 tokens carry the configured issuer and audience here, as every token must. */
const localToken = (userId: string) =>
  jwt.sign({ sub: userId }, TEST_JWT_SECRET, {
    algorithm: 'HS256',
    expiresIn: 600,
    issuer: jwks.issuer,
    audience: jwks.audience,
  });
const user = (userId: string) => new ApiClient(app.url, localToken(userId));

// the identity provider comes up before the fixture's server, whose settings name it, and goes after it
beforeAll(async () => {
  jwks = await JwksServer.start();
});
afterAll(async () => {
  await jwks?.close();
});
const { db, fake, app, startApp } = useE2eApp('security', {
  // the main server's own: the server of a test started with JWKS alone has settings of its own
  server: {
    env: () => ({
      CORS_ORIGINS: 'https://app.example.test, https://admin.example.test',
      RATE_LIMIT_UPLOADS_PER_MINUTE: '3',
      RATE_LIMIT_ANALYZE_PER_MINUTE: '2',
      HTTP_REQUEST_TIMEOUT_MS: '3000',
      HTTP_IDLE_TIMEOUT_MS: '1500',
      JWT_JWKS_URI: jwks.url,
      JWT_ISSUER: jwks.issuer,
      JWT_AUDIENCE: jwks.audience,
      JWT_MAX_AGE: '3600',
    }),
  },
});
beforeAll(() => {
  alice = user('alice');
});

describe('defences', () => {
  it('sends security headers (helmet)', async () => {
    const res = await fetch(`${app.url}/health`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('allows CORS only for the configured origins', async () => {
    const preflight = (origin: string) =>
      fetch(`${app.url}/api/sessions`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
    const allowed = await preflight('https://admin.example.test');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://admin.example.test');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const refused = await preflight('https://evil.example.test');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('rate-limits uploads per user with 429 and Retry-After, without touching other users', async () => {
    const sessionId = await alice.newSession(['q1']);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await alice.upload(sessionId, 'q1', wavTone(0.1, 900 + i))).status);
    expect(statuses).toEqual([202, 202, 202, 429]);
    const limited = await alice.upload(sessionId, 'q1', wavTone(0.1, 950));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body.message).toMatch(/^Too many requests: at most 3 per minute; retry in \d+ seconds?\.$/);
    const bob = user('bob');
    const bobSession = await bob.newSession(['q1']);
    expect((await bob.upload(bobSession, 'q1', wavTone(0.1, 960))).status).toBe(202);
    // the status route is not limited
    expect((await alice.answerStatus(sessionId, 'q1')).status).toBe(200);
  });

  it('rate-limits analyze per user', async () => {
    const carol = user('carol');
    const sessionId = await carol.newSession(['q1']);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await carol.request('POST', `/api/analyze/${sessionId}`)).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('refuses a JSON body over the limit with 413', async () => {
    const res = await alice.request('POST', '/api/sessions', {
      json: { questions: [{ text: 'x'.repeat(3 * 1024 * 1024) }] },
    });
    expect(res.status).toBe(413);
    expect(res.body.message).toBe('The request body is too large.');
  });

  it('answers 431 to a header line over 16 KB', async () => {
    const res = await rawRequest(`${app.url}/api/sessions`, {
      method: 'GET',
      headers: { authorization: `Bearer ${localToken('alice')}`, 'x-junk': 'j'.repeat(20 * 1024) },
      write: async () => undefined,
    }).catch((error: Error) => ({ status: -1, body: error.message }));
    expect(res.status).toBe(431);
  });

  it('closes a slow-drip upload when the request timeout runs out, storing nothing', async () => {
    const sessionId = await user('drip').newSession(['q1']);
    const started = Date.now();
    const res = await rawRequest(`${app.url}/api/upload-answer/${sessionId}/q1`, {
      headers: { authorization: `Bearer ${localToken('drip')}`, 'content-type': 'multipart/form-data; boundary=D' },
      write: async (req) => {
        await writeAll(req, '--D\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n\r\n');
        await writeAll(req, wavTone(0.1, 300).subarray(0, 70_000));
        for (let i = 0; i < 40 && !req.destroyed; i++) {
          await new Promise((r) => setTimeout(r, 250)); // never idle long enough for the idle timeout
          await writeAll(req, 'x');
        }
      },
    }).catch((error: Error) => ({ status: -1, body: error.message }));
    expect(Date.now() - started).toBeLessThan(8_000);
    expect([408, -1]).toContain(res.status);
    await new Promise((r) => setTimeout(r, 500));
    const doc = await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    expect(doc!.answers).toEqual({});
  });
});

describe('hostile bodies and parameters', () => {
  it.each([
    [
      'prototype pollution',
      '{"__proto__": {"admin": true}, "questions": [{"text": "q"}]}',
      /__proto__ should not exist/,
    ],
    [
      'constructor pollution',
      '{"constructor": {"prototype": {"admin": true}}, "questions": [{"text": "q"}]}',
      /constructor should not exist/,
    ],
    ['operator object as text', '{"questions": [{"text": {"$ne": null}}]}', /text must be a string/],
    [
      'operator object as title',
      '{"title": {"$where": "sleep(1000)"}, "questions": [{"text": "q"}]}',
      /title must be a string/,
    ],
    ['a number as questions', '{"questions": 5}', /questions must be an array/],
  ])('refuses %s with a 400', async (_what, body, message) => {
    const res = await alice.request('POST', '/api/sessions', { body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(message);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('refuses a crafted list cursor (a date out of range) with a 400, not a 500', async () => {
    const cursor = (time: number) =>
      Buffer.from(JSON.stringify([time, new ObjectId().toHexString()])).toString('base64url');
    for (const time of [1e20, -1e17, 8.64e15 + 1]) {
      const res = await alice.request('GET', `/api/sessions?cursor=${cursor(time)}`);
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('cursor is not valid; pass next_cursor from the previous page');
    }
    expect((await alice.request('GET', `/api/sessions?cursor=${cursor(Date.now())}`)).status).toBe(200);
  });

  it.each([
    [
      'nested 20,000 levels deep',
      `{"questions": [{"text": "q", "x": ${'['.repeat(20_000)}${']'.repeat(20_000)}}]}`,
      /^The request body is nested more than 32 levels deep\.$/,
    ],
    [
      'nested 33 levels deep',
      `{"questions": ${'['.repeat(32)}${']'.repeat(32)}}`,
      /^The request body is nested more than 32 levels deep\.$/,
    ],
    [
      'with 20,000 keys',
      `{"questions": [{"text": "q"}], "title": "t", ${Array.from({ length: 20_000 }, (_, i) => `"k${i}": 1`).join(', ')}}`,
      /^The request body has more than 10000 members and elements\.$/,
    ],
    [
      'with 20,000 array elements',
      `{"questions": [${Array(20_000).fill('{"text": "q"}').join(',')}]}`,
      /^The request body has more than 10000 members and elements\.$/,
    ],
  ])(
    'refuses a JSON body %s with a 400 before anything walks it, logging no stack trace',
    async (_what, body, message) => {
      const before = app.logs.length;
      const res = await alice.request('POST', '/api/sessions', {
        body,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(message);
      const logged = app.logs.slice(before).join('\n');
      expect(logged).not.toMatch(/"level":"error"|RangeError|Maximum call stack|\n\s+at /);
    },
  );

  it('refuses an upload that is an ID3 tag header and anything after it (not an mp3), storing nothing', async () => {
    const api = user('id3');
    const sessionId = await api.newSession(['q1']);
    const junk = Buffer.alloc(200 * 1024, 'ffconcat version 1.0\n');
    // a tag the gate can look past (up to 4 MB) that the file ends inside: no frame, not an mp3
    const short = await api.upload(sessionId, 'q1', Buffer.concat([id3TagHeader(1024 * 1024), junk]));
    expect(short.status).toBe(400);
    expect(short.body.message).toBe(
      'The uploaded file is not a supported audio recording; send webm, ogg/opus, mp3, mp4/m4a, wav or flac.',
    );
    // a tag declared longer than the gate looks past: refused before anything is stored
    const long = await api.upload(sessionId, 'q1', Buffer.concat([id3TagHeader(10 * 1024 * 1024), junk]));
    expect(long.status).toBe(400);
    expect(long.body.message).toBe(
      "The mp3's ID3 tags (cover art) are over 4 MB; remove the picture from the file, or upload the recording without tags.",
    );
    const doc = await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    expect(doc!.answers).toEqual({});
    expect(await db.db.collection('fs.files').countDocuments({ 'metadata.session_id': new ObjectId(sessionId) })).toBe(
      0,
    );
  });

  it('keeps a deep string that only looks like nesting', async () => {
    const res = await alice.request('POST', '/api/sessions', { json: { questions: [{ text: '['.repeat(5000) }] } });
    expect(res.status).toBe(201);
  });

  it.each([
    ['with $', 'a$b'],
    ['with .', 'a.b'],
    ['with /', 'a%2Fb'],
    ['in unicode', 'caf%C3%A9'],
    ['of 10 KB', 'x'.repeat(10_000)],
    ['naming an operator', '%24where'],
  ])('refuses a question id %s with a 400', async (label, questionId) => {
    const api = user(`ids-${label}`); // the upload rate limit is per user
    const sessionId = await api.newSession(['q1']);
    for (const res of [
      await api.request('GET', `/api/transcription-status/${sessionId}/${questionId}`),
      await api.upload(sessionId, questionId, wavTone(0.1)),
    ]) {
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/questionId must be 1 to 64 characters/);
    }
  });

  it('never answers 5xx to arbitrary ids and bodies (property-based)', async () => {
    const bob = user('fuzz');
    // (uploads here are mostly refused before the rate limit matters; 429 is an allowed answer)
    const sessionId = await bob.newSession(['q1']);
    const id = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.constant(sessionId),
      fc.constant(new ObjectId().toHexString()),
      fc.stringMatching(/^[0-9a-f]{24}$/),
    );
    const qid = fc.oneof(fc.string({ maxLength: 80 }), fc.constant('q1'), fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/));
    await fc.assert(
      fc.asyncProperty(id, qid, fc.uint8Array({ maxLength: 2048 }), fc.boolean(), async (s, q, bytes, asForm) => {
        const path = `${encodeURIComponent(s) || 'x'}/${encodeURIComponent(q) || 'x'}`;
        const status = await bob.request('GET', `/api/transcription-status/${path}`);
        expect(status.status).toBeLessThan(500);
        const upload = asForm
          ? await bob.upload(encodeURIComponent(s) || 'x', encodeURIComponent(q) || 'x', bytes)
          : await bob.request('POST', `/api/upload-answer/${path}`, {
              body: bytes,
              headers: { 'content-type': 'application/octet-stream' },
            });
        expect(upload.status).toBeLessThan(500);
        expect([202, 400, 404, 409, 413, 429]).toContain(upload.status);
      }),
      { numRuns: 60, seed: 20261123 },
    );
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (body) => {
        const res = await bob.request('POST', '/api/sessions', { json: body });
        expect([201, 400]).toContain(res.status);
      }),
      { numRuns: 80, seed: 20261123 },
    );
  });
});

describe('identity-provider tokens (JWKS)', () => {
  const as = (token: string) => new ApiClient(app.url, token).request('GET', '/api/sessions');

  it('accepts RS256 and ES256 tokens verified against the JWKS, with issuer and audience', async () => {
    expect((await as(jwks.sign('rsa-1', { sub: 'idp-user' }))).status).toBe(200);
    expect((await as(jwks.sign('ec-1', { sub: 'idp-user' }))).status).toBe(200);
  });

  it('refuses wrong issuer, wrong audience, unknown keys and expired tokens', async () => {
    for (const token of [
      jwks.sign('rsa-1', { sub: 'x' }, { issuer: 'https://evil.example.test/' }),
      jwks.sign('rsa-1', { sub: 'x' }, { audience: 'someone-else' }),
      jwks.sign('rsa-1', { sub: 'x' }, { expiresIn: -5 }),
      jwt.sign({ sub: 'x' }, jwks.key('rsa-1').privateKey, {
        algorithm: 'RS256',
        keyid: 'nope',
        issuer: jwks.issuer,
        audience: jwks.audience,
      }),
    ]) {
      expect((await as(token)).status).toBe(401);
    }
  });

  it('refuses an HS256 token signed with the public key (algorithm confusion)', async () => {
    const pem = jwks.key('rsa-1').publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const forged = jwt.sign({ sub: 'x', iss: jwks.issuer, aud: jwks.audience }, pem, {
      algorithm: 'HS256',
      keyid: 'rsa-1',
    });
    expect((await as(forged)).status).toBe(401);
  });

  it('a flood of unknown key ids neither reaches the provider per token nor starves a key new after rotation', async () => {
    const fetchesBefore = jwks.requests;
    const junk = Array.from({ length: 40 }, (_, i) =>
      jwt.sign({ sub: 'x' }, jwks.key('rsa-1').privateKey, {
        algorithm: 'RS256',
        keyid: `junk-${i}-${Math.random()}`,
        expiresIn: 600,
        issuer: jwks.issuer,
        audience: jwks.audience,
      }),
    );
    const refused = await Promise.all(junk.map(async (token) => (await as(token)).status));
    expect(refused).toEqual(Array(40).fill(401));
    // a key the provider publishes after the flood: its first token gets in (waiting for one fetch at most)
    jwks.rotate('rsa-new', 'RS256', true);
    const started = Date.now();
    expect((await as(jwks.sign('rsa-new', { sub: 'after-rotation' }))).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3_000);
    // keys already known never wait, and the same junk again is refused without a fetch
    expect((await as(jwks.sign('rsa-1', { sub: 'idp-user' }))).status).toBe(200);
    const fetchesAfter = jwks.requests;
    expect((await as(junk[0])).status).toBe(401);
    expect(jwks.requests).toBe(fetchesAfter);
    // 40 unknown kids and a rotation: one fetch for the flood, one for the new key
    expect(fetchesAfter - fetchesBefore).toBeLessThanOrEqual(3);
  });

  it('requires exp, caps the lifetime at JWT_MAX_AGE, and refuses iat or nbf in the future beyond the skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    const hs = (claims: Record<string, unknown>) =>
      jwt.sign({ sub: 'claims', iss: jwks.issuer, aud: jwks.audience, ...claims }, TEST_JWT_SECRET, {
        algorithm: 'HS256',
        noTimestamp: !('iat' in claims),
      });
    const rs = (claims: Record<string, unknown>) =>
      jwt.sign({ sub: 'claims', iss: jwks.issuer, aud: jwks.audience, ...claims }, jwks.key('rsa-1').privateKey, {
        algorithm: 'RS256',
        keyid: 'rsa-1',
      });
    for (const sign of [hs, rs]) {
      const cases: [Record<string, unknown>, number, string?][] = [
        [{}, 401, 'The bearer token has no expiry ("exp"); tokens must expire.'],
        [{ iat: now }, 401, 'The bearer token has no expiry ("exp"); tokens must expire.'],
        [
          { exp: now + 7200 },
          401,
          'The bearer token lives longer than this server accepts (3600 s); ask for a shorter-lived token.',
        ],
        [
          { iat: now - 10, exp: now + 2 * 86_400 },
          401,
          'The bearer token lives longer than this server accepts (3600 s); ask for a shorter-lived token.',
        ],
        [{ iat: now + 3600, exp: now + 3700 }, 401, 'The bearer token claims to be issued in the future ("iat").'],
        [{ nbf: now + 600, exp: now + 900 }, 401, 'The bearer token is not valid yet.'],
        [{ iat: now, exp: now + 3600 }, 200],
        [{ exp: now + 600 }, 200],
        // a clock a few seconds ahead is tolerated
        [{ iat: now + 10, nbf: now + 10, exp: now + 600 }, 200],
      ];
      for (const [claims, status, message] of cases) {
        const res = await as(sign(claims));
        expect({ claims, status: res.status }).toEqual({ claims, status });
        if (message) expect(res.body.message).toBe(message);
      }
    }
  });

  it('picks up a rotated key without a restart', async () => {
    jwks.rotate('rsa-2', 'RS256', true);
    expect((await as(jwks.sign('rsa-2', { sub: 'rotated' }))).status).toBe(200);
  });

  it("with JWKS and no JWT_SECRET, accepts only the identity provider's tokens (no development secret)", async () => {
    const idpOnly = await startApp({ JWT_SECRET: '', JWT_JWKS_URI: jwks.url });
    try {
      const call = (token: string) => new ApiClient(idpOnly.url, token).request('GET', '/api/sessions');
      expect((await call(jwks.sign('rsa-1', { sub: 'idp-user' }))).status).toBe(200);
      expect((await call(tokenFor('local'))).status).toBe(401);
      expect(idpOnly.logs.some((line) => line.includes('JWT_SECRET is not set'))).toBe(false);
    } finally {
      await idpOnly.stop();
    }
  });

  it('keeps HS256 tokens working beside it, issuer and audience checked too', async () => {
    const ok = jwt.sign({ sub: 'local' }, TEST_JWT_SECRET, {
      algorithm: 'HS256',
      expiresIn: 600,
      issuer: jwks.issuer,
      audience: jwks.audience,
    });
    expect((await as(ok)).status).toBe(200);
    expect((await as(tokenFor('local'))).status).toBe(401); // no issuer, no audience
  });
});

describe('logs', () => {
  it('never contain bearer tokens or transcripts', async () => {
    const token = localToken('logger');
    const api = new ApiClient(app.url, token);
    const sessionId = await api.newSession(['q1']);
    fake.script('q1', { kind: 'ok', text: 'my very private answer 7731' });
    await api.upload(sessionId, 'q1', wavTone(0.1, 1234));
    await api.waitForAnswer(sessionId, 'q1');
    await new ApiClient(app.url, 'Bearer-garbage-token-abc').request('GET', '/api/sessions');
    const logs = app.logs.join('\n');
    expect(logs).not.toContain(token);
    expect(logs).not.toContain(token.split('.')[2]);
    expect(logs).not.toContain('private answer 7731');
    expect(logs).not.toContain('garbage-token-abc');
  });
});
