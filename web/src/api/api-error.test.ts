import { describe, expect, it } from 'vitest';
import { jsonResponse } from '../test/fake-media';
import { errorFromResponse } from './api-error';

describe('errorFromResponse', () => {
  it("uses the server's sentence, never the JSON around it", async () => {
    const error = await errorFromResponse(
      jsonResponse(409, { statusCode: 409, error: 'Conflict', message: 'The session is already analyzed.' }),
    );
    expect(error.message).toBe('The session is already analyzed.');
    expect(error.message).not.toContain('{');
    expect(error.status).toBe(409);
    expect(error.isTransient).toBe(false);
  });

  it('says something readable when the body is not the API shape', async () => {
    const error = await errorFromResponse(new Response('<html>Bad gateway</html>', { status: 502 }));
    expect(error.message).toBe('The server had a problem (HTTP 502); try again in a moment.');
    expect(error.isTransient).toBe(true);
  });

  it('carries Retry-After', async () => {
    const error = await errorFromResponse(jsonResponse(429, { message: 'Slow down.' }, { 'Retry-After': '7' }));
    expect(error.retryAfterSeconds).toBe(7);
    expect(error.isTransient).toBe(true);
  });
});
