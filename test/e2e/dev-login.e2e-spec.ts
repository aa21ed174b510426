import { describe, expect, it } from 'vitest';
import { ApiClient } from '../support/api.js';
import type { AppProcess } from '../support/app-process.js';
import { useE2eApp } from '../support/e2e.js';

const { startApp } = useE2eApp('dev_login', { provider: false, server: false });
const servers: AppProcess[] = [];

async function start(env: Record<string, string>): Promise<ApiClient> {
  const app = await startApp(env, { apiKey: null });
  servers.push(app);
  return new ApiClient(app.url);
}

describe('development sign-in', () => {
  it('with AUTH_DEV_LOGIN=true, mints a token the API accepts', async () => {
    const api = await start({ AUTH_DEV_LOGIN: 'true' });
    expect((await api.request('GET', '/api/auth/config')).body).toEqual({ dev_login: true });

    const minted = await api.request('POST', '/api/auth/dev-token', { json: { user_id: 'carol' } });
    expect(minted.status).toBe(201);
    expect(minted.body).toMatchObject({ user_id: 'carol', expires_in: 8 * 3600 });
    const carol = new ApiClient(api.baseUrl, minted.body.token);
    const session = await carol.createSession([{ text: 'Why?' }]);
    expect(session.status).toBe(201);
    expect((await carol.request('GET', '/api/sessions')).body.sessions).toHaveLength(1);
  });

  it('refuses a missing or malformed user_id with a sentence', async () => {
    const api = new ApiClient(servers[0].url);
    const missing = await api.request('POST', '/api/auth/dev-token', { json: {} });
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'user_id must be a string',
      statusCode: 400,
      error: 'Bad Request',
      message: 'user_id must be a string',
    });
    const bad = await api.request('POST', '/api/auth/dev-token', { json: { user_id: 'a b' } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^user_id must be 1 to 64 letters/);
    const extra = await api.request('POST', '/api/auth/dev-token', { json: { user_id: 'x', admin: true } });
    expect(extra.status).toBe(400);
  });

  it('is disabled by default (404 and the config says so)', async () => {
    const api = await start({});
    expect((await api.request('GET', '/api/auth/config')).body).toEqual({ dev_login: false });
    const res = await api.request('POST', '/api/auth/dev-token', { json: { user_id: 'carol' } });
    expect(res.status).toBe(404);
    expect(res.body.message).toBe(
      'Development sign-in is disabled; start the server with AUTH_DEV_LOGIN=true to use it.',
    );
    expect(res.body.token).toBeUndefined();
    // disabled means disabled, whatever the body: no validation hints either
    expect((await api.request('POST', '/api/auth/dev-token', { json: {} })).status).toBe(404);
  });

  it('is refused when NODE_ENV=production even with AUTH_DEV_LOGIN=true', async () => {
    const api = await start({ NODE_ENV: 'production', AUTH_DEV_LOGIN: 'true' });
    expect((await api.request('GET', '/api/auth/config')).body).toEqual({ dev_login: false });
    const res = await api.request('POST', '/api/auth/dev-token', { json: { user_id: 'carol' } });
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/refused when NODE_ENV=production/);
    expect(res.body.token).toBeUndefined();
  });
});
