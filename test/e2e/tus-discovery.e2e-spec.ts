import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { AppProcess } from '../support/app-process.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';
import { TusClient } from '../support/tus.js';

/*
 * tus 1.0 discovery: OPTIONS answers what the server speaks, to anyone (a browser's CORS preflight
 * carries no credentials), and under CORS_ORIGINS a preflight for a tus request is allowed its
 * methods and headers. Every other tus refusal stays a problem document. Each answer the ApiClient
 * receives is checked against the OpenAPI document.
 */

const MAX_UPLOAD_BYTES = 8 * 1024 * 1024;
const APP_ORIGIN = 'https://app.example.test';

let db: TestDatabase;
let app: AppProcess;
let anonymous: ApiClient;
let tus: TusClient;

beforeAll(async () => {
  db = await openTestDatabase('tusdiscovery');
  app = await AppProcess.start({
    mongodbUri: db.uri,
    apiKey: null,
    env: { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES), CORS_ORIGINS: APP_ORIGIN },
  });
  anonymous = new ApiClient(app.url);
  tus = new TusClient(new ApiClient(app.url, tokenFor('alice')));
});

afterAll(async () => {
  await app?.stop('SIGKILL');
  await db?.drop();
});

const DISCOVERY = {
  'tus-resumable': '1.0.0',
  'tus-version': '1.0.0',
  'tus-extension': 'creation,creation-defer-length,termination,expiration',
  'tus-max-size': String(MAX_UPLOAD_BYTES),
};
const discovered = (headers: Headers) => Object.fromEntries(Object.keys(DISCOVERY).map((n) => [n, headers.get(n)]));

describe('OPTIONS /api/uploads (tus discovery)', () => {
  it('answers 204 with the version, exactly the extensions offered and the size limit, without sign-in', async () => {
    const sessionId = await tus.api.newSession(['q1']);
    const id = await tus.start(sessionId, 'q1', 1000);
    for (const path of ['/api/uploads', `/api/uploads/${id}`, '/api/uploads/not-an-upload']) {
      const res = await anonymous.request('OPTIONS', path);
      expect(res.status, path).toBe(204);
      expect(discovered(res.headers), path).toEqual(DISCOVERY);
      expect(res.body, path).toBeUndefined();
    }
    // a signed-in client is told the same
    const signedIn = await tus.api.request('OPTIONS', '/api/uploads');
    expect(signedIn.status).toBe(204);
    expect(discovered(signedIn.headers)).toEqual(DISCOVERY);
  });

  it('is documented without security, with the headers it sends', async () => {
    const doc = (await (await fetch(`${app.url}/docs-json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, { headers?: object }> }>>;
    };
    for (const path of ['/api/uploads', '/api/uploads/{uploadId}']) {
      const options = doc.paths[path].options;
      expect(options.security ?? []).toEqual([]);
      expect(Object.keys(options.responses['204'].headers ?? {})).toEqual(
        expect.arrayContaining(['Tus-Resumable', 'Tus-Version', 'Tus-Extension', 'Tus-Max-Size']),
      );
    }
    // the tus routes themselves still need a token
    expect(doc.paths['/api/uploads/{uploadId}'].patch.security).toEqual([{ bearer: [] }]);
  });

  it('lets a configured origin preflight a tus PATCH, with the tus headers allowed and exposed', async () => {
    const preflight = (origin: string, path: string) =>
      fetch(`${app.url}${path}`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'PATCH',
          'access-control-request-headers': 'authorization,content-type,tus-resumable,upload-offset',
        },
      });
    const allowed = await preflight(APP_ORIGIN, '/api/uploads/0123456789abcdef01234567');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(allowed.headers.get('access-control-allow-methods')).toMatch(/PATCH/);
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/Upload-Offset/);
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/Tus-Resumable/);
    expect(allowed.headers.get('access-control-expose-headers')).toMatch(/Upload-Offset/);
    expect(discovered(allowed.headers)).toEqual(DISCOVERY);
    const refused = await preflight('https://evil.example.test', '/api/uploads');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    // a tus answer names the configured origin only, as every other answer does
    const sessionId = await tus.api.newSession(['q1']);
    const id = await tus.start(sessionId, 'q1', 1000);
    const head = (origin: string) =>
      fetch(`${app.url}/api/uploads/${id}`, {
        method: 'HEAD',
        headers: { origin, 'tus-resumable': '1.0.0', authorization: `Bearer ${tokenFor('alice')}` },
      });
    expect((await head(APP_ORIGIN)).headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect((await head('https://evil.example.test')).headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('every other tus refusal', () => {
  it('is a problem document: no version, no sign-in, creation-with-upload (not offered)', async () => {
    const noVersion = await tus.api.request('POST', '/api/uploads', { headers: { 'upload-length': '1000' } });
    expect(noVersion.status).toBe(412);
    expect(noVersion.headers.get('content-type')).toMatch(/application\/problem\+json/);

    const unsigned = await anonymous.request('POST', '/api/uploads', {
      headers: { 'tus-resumable': '1.0.0', 'upload-length': '1000' },
    });
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers.get('content-type')).toMatch(/application\/problem\+json/);

    const sessionId = await tus.api.newSession(['q1']);
    const before = await db.db.collection('resumable_uploads').countDocuments();
    const withBody = await tus.api.request('POST', '/api/uploads', {
      headers: {
        'tus-resumable': '1.0.0',
        'upload-length': '4',
        'upload-metadata': TusClient.metadata({ session_id: sessionId, question_id: 'q1' }),
        'content-type': 'application/offset+octet-stream',
      },
      body: 'RIFF',
    });
    expect(withBody.status).toBe(400);
    expect(withBody.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(withBody.body.detail).toMatch(/creation-with-upload/);
    expect(await db.db.collection('resumable_uploads').countDocuments()).toBe(before);
  });
});
