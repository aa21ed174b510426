import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import {
  classifyError,
  parseRetryAfter,
  refusedHints,
  retryDelayMs,
  TranscriptionFailure,
} from '../../src/transcription/recording/retry-policy.js';

const apiError = (status: number, message = 'boom', headers: Record<string, string> = {}) =>
  APIError.generate(status, { error: { message } }, undefined, new Headers(headers));

describe('classifyError', () => {
  it.each([408, 409, 425, 429, 500, 502, 503, 504])('treats HTTP %i as transient', (status) => {
    expect(classifyError(apiError(status)).kind).toBe('transient');
  });

  it.each([
    [400, 'The transcription provider rejected the audio (400); check that the recording plays, then upload it again.'],
    [
      401,
      "The transcription provider refused this server's credentials (401); the operator must check OPENAI_API_KEY, then retry the answer.",
    ],
    [
      403,
      "The transcription provider refused this server's credentials (403); the operator must check OPENAI_API_KEY, then retry the answer.",
    ],
    [
      404,
      'The transcription provider has no such model or endpoint (404); the operator must check TRANSCRIPTION_MODEL and OPENAI_BASE_URL, then retry the answer.',
    ],
    [413, 'The recording is too large for the transcription provider (413).'],
    [415, 'The transcription provider rejected the audio (415); check that the recording plays, then upload it again.'],
    [422, 'The transcription provider rejected the audio (422); check that the recording plays, then upload it again.'],
  ])('treats HTTP %i as permanent with a sentence of its own, the provider text kept for logs', (status, message) => {
    const failure = classifyError(apiError(status));
    expect(failure.kind).toBe('permanent');
    expect(failure.message).toBe(message);
    expect(failure.message).not.toContain('boom');
    expect(failure.detail).toBe(`${status} boom`);
    expect(failure.logText).toBe(`${message} [${status} boom]`);
  });

  it.each([
    ['keywords', "Invalid 'keywords[0]': keywords must be single-line strings without '<' or '>'."],
    ['language', "Invalid language 'xx'."],
    ['prompt', 'prompt is too long'],
  ])("says a 400 refusing the request's %s is no fault of the recording, and names who can fix it", (param, text) => {
    const error = APIError.generate(
      400,
      { error: { message: text, param, type: 'invalid_request_error' } },
      undefined,
      new Headers(),
    );
    const failure = classifyError(error);
    expect(failure.kind).toBe('permanent');
    expect(failure.message).toBe(
      `The transcription provider refused the request's ${param} (400), not the recording; the operator must check the transcription settings (TRANSCRIPTION_MODEL, TRANSCRIPTION_LANGUAGE), then retry the answer.`,
    );
    expect(failure.message).not.toContain('upload it again');
  });

  it('tells a refusal of the interview hints (keywords, prompt, language) from a refusal of the audio', () => {
    const refusal = (body: Record<string, unknown>, status = 400) =>
      APIError.generate(status, { error: { type: 'invalid_request_error', ...body } }, undefined, new Headers());
    expect(refusedHints(refusal({ message: 'bad', param: 'keywords' }))).toBe(true);
    expect(refusedHints(refusal({ message: 'bad', param: 'keywords[3]' }))).toBe(true);
    expect(refusedHints(refusal({ message: 'bad', param: 'languages' }))).toBe(true);
    // a server that names no parameter, but says which
    expect(refusedHints(refusal({ message: 'Keywords must not contain newlines' }))).toBe(true);
    expect(refusedHints(refusal({ message: 'Audio file might be corrupted or unsupported' }))).toBe(false);
    expect(refusedHints(refusal({ message: 'bad', param: 'file' }))).toBe(false);
    expect(refusedHints(refusal({ message: 'bad', param: 'model' }))).toBe(false);
    expect(refusedHints(refusal({ message: 'keywords', param: 'keywords' }, 500))).toBe(false);
    expect(refusedHints(new Error('keywords'))).toBe(false);
  });

  it("never puts the provider's text, which can quote a masked key, in the user's sentence", () => {
    const failure = classifyError(apiError(401, 'Incorrect API key provided: sk-abc***********wxyz.'));
    expect(failure.message).not.toMatch(/sk-|Incorrect/);
    expect(failure.detail).toContain('Incorrect API key');
    const unexpected = classifyError(new TypeError('Cannot read properties of undefined (reading "x") at /srv/app'));
    expect(unexpected.message).toBe('Transcription failed unexpectedly.');
    expect(unexpected.detail).toContain('TypeError: Cannot read properties');
  });

  it('keeps the Retry-After of a 429', () => {
    const failure = classifyError(apiError(429, 'slow down', { 'retry-after': '7' }));
    expect(failure).toMatchObject({ kind: 'transient', retryAfterMs: 7000 });
    expect(failure.message).toBe('The transcription provider is rate limiting requests (429).');
  });

  it('treats timeouts, connection errors and malformed JSON as transient', () => {
    expect(classifyError(new APIConnectionTimeoutError()).kind).toBe('transient');
    const reset = new APIConnectionError({ cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
    expect(classifyError(reset)).toMatchObject({
      kind: 'transient',
      message: 'Could not reach the transcription provider.',
      detail: 'socket hang up',
    });
    expect(classifyError(new SyntaxError('Unexpected end of JSON input')).kind).toBe('transient');
  });

  it('treats audio missing from GridFS as permanent', () => {
    const failure = classifyError(new Error('FileNotFound: file 6500000000000000000000 was not found'));
    expect(failure).toMatchObject({
      kind: 'permanent',
      message: 'The audio for this answer is missing from storage; upload it again.',
    });
  });

  it('passes TranscriptionFailures through unchanged', () => {
    const failure = new TranscriptionFailure('x', 'permanent');
    expect(classifyError(failure)).toBe(failure);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds, milliseconds and HTTP dates, and caps them at 15 minutes', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after': '3' }))).toBe(3000);
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250' }))).toBe(250);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now)).toBe(5000);
    expect(parseRetryAfter(new Headers({ 'retry-after': '86400' }))).toBe(15 * 60 * 1000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(parseRetryAfter(new Headers())).toBeUndefined();
  });
});

describe('retryDelayMs', () => {
  const policy = { baseMs: 1000, maxMs: 60_000 };
  const transient = new TranscriptionFailure('x', 'transient');

  it('doubles per attempt, with half of the delay random', () => {
    expect(retryDelayMs(transient, 1, policy, () => 0)).toBe(500);
    expect(retryDelayMs(transient, 1, policy, () => 1)).toBe(1000);
    expect(retryDelayMs(transient, 3, policy, () => 0)).toBe(2000);
    expect(retryDelayMs(transient, 3, policy, () => 1)).toBe(4000);
  });

  it('never exceeds the cap, and never undercuts a Retry-After', () => {
    expect(retryDelayMs(transient, 30, policy, () => 1)).toBe(60_000);
    const limited = new TranscriptionFailure('x', 'transient', 9000);
    expect(retryDelayMs(limited, 1, policy, () => 1)).toBe(9000);
  });
});
