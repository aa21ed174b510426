import jwt from 'jsonwebtoken';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { AppProcess, TEST_JWT_SECRET } from '../support/app-process.js';
import { openTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let app: AppProcess;
let alice: ApiClient;
let bob: ApiClient;

beforeAll(async () => {
  db = await openTestDatabase('sessions');
  app = await AppProcess.start({ mongodbUri: db.uri });
  alice = new ApiClient(app.url, tokenFor('alice'));
  bob = new ApiClient(app.url, tokenFor('bob'));
});

afterAll(async () => {
  await app?.stop();
  await db?.drop();
});

describe('POST /api/sessions', () => {
  let refusals = 0;

  it('creates a session, keeps given question ids and generates missing ones', async () => {
    const res = await alice.createSession(
      [
        { question_id: 'intro', text: 'Tell me about yourself.', model_answer: 'A short history.' },
        { text: 'Why this role?' },
        { question_id: 'q2', text: 'Taken id for the generator' },
      ],
      'Backend interview',
    );
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['created_at', 'language', 'questions', 'session_id', 'status']);
    expect(res.body.language).toBeNull(); // the provider detects it
    expect(res.body.session_id).toMatch(/^[0-9a-f]{24}$/);
    expect(res.body.status).toBe('in_progress');
    expect(Date.parse(res.body.created_at)).toBeGreaterThan(Date.now() - 60_000);
    expect(res.body.questions).toEqual([
      { question_id: 'intro', text: 'Tell me about yourself.', model_answer: 'A short history.', rubric: null },
      { question_id: 'q2_2', text: 'Why this role?', model_answer: '', rubric: null },
      { question_id: 'q2', text: 'Taken id for the generator', model_answer: '', rubric: null },
    ]);

    const stored = await db.db.collection('interview_sessions').findOne({ _id: new ObjectId(res.body.session_id) });
    expect(stored).toMatchObject({ user_id: 'alice', title: 'Backend interview', status: 'in_progress', answers: {} });
    expect(stored!.questions.map((q: { question_id: string }) => q.question_id)).toEqual(['intro', 'q2_2', 'q2']);
  });

  it.each([
    [{}, 'questions must'],
    [{ questions: [] }, 'questions must contain at least one question'],
    [{ questions: [{ text: '' }] }, 'text must not be empty'],
    [{ questions: [{ text: 'ok', question_id: 'has space' }] }, 'question_id must be 1 to 64 characters'],
    [{ questions: [{ text: 'ok', question_id: 'a.b' }] }, 'question_id must be 1 to 64 characters'],
    [{ questions: [{ text: 'ok', question_id: 'x'.repeat(65) }] }, 'question_id must be 1 to 64 characters'],
    [{ questions: [{ text: 'ok', question_id: { $gt: '' } }] }, 'question_id must be a string'],
    [{ questions: [{ text: 'ok', question_id: '$where' }] }, 'question_id must be 1 to 64 characters'],
    // the names JavaScript gives an object's prototype: keys of the answers map in every view
    [
      { questions: [{ text: 'ok', question_id: '__proto__' }] },
      'question_id must not be __proto__, constructor or prototype',
    ],
    [
      { questions: [{ text: 'ok', question_id: 'constructor' }] },
      'question_id must not be __proto__, constructor or prototype',
    ],
    [
      { questions: [{ text: 'ok', question_id: 'prototype' }] },
      'question_id must not be __proto__, constructor or prototype',
    ],
    [
      {
        questions: [
          { text: 'a', question_id: 'dup' },
          { text: 'b', question_id: 'dup' },
        ],
      },
      'question_id "dup" appears more than once',
    ],
    [{ questions: [{ text: 'ok' }], owner: 'mallory' }, 'property owner should not exist'],
    [{ questions: 'nope' }, 'questions must be an array'],
  ])('refuses %j with a 400 that says why', async (body, message) => {
    const user = `refused-${refusals++}`;
    const res = await alice.as(user).request('POST', '/api/sessions', { json: body });
    expect(res.status).toBe(400);
    expect(res.body.statusCode).toBe(400);
    expect(res.body.error).toBe('Bad Request');
    expect(res.body.message).toContain(message);
    // refused before anything is stored
    expect(await db.db.collection('interview_sessions').countDocuments({ user_id: user })).toBe(0);
  });

  it('refuses a body that is not JSON', async () => {
    const res = await alice.request('POST', '/api/sessions', {
      body: '{"questions": [',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/not valid JSON/);
  });
});

describe('GET /api/sessions/:sessionId', () => {
  it('returns the owner their session and answers 404 to anyone else, exactly as for a missing one', async () => {
    const id = await alice.newSession(['a', 'b']);
    const mine = await alice.request('GET', `/api/sessions/${id}`);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ session_id: id, status: 'in_progress', answers: {} });
    expect(mine.body.questions.map((q: { question_id: string }) => q.question_id)).toEqual(['a', 'b']);

    const foreign = await bob.request('GET', `/api/sessions/${id}`);
    const missing = await bob.request('GET', `/api/sessions/${new ObjectId().toHexString()}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(missing.body);
    expect(foreign.body.message).toBe('No interview session with this id exists for your account.');
  });

  it('answers 400 for an id that is not an ObjectId', async () => {
    for (const bad of ['123', 'zzzzzzzzzzzzzzzzzzzzzzzz', '%24where', 'x'.repeat(10_000)]) {
      const res = await alice.request('GET', `/api/sessions/${bad}`);
      expect(res.status, bad.slice(0, 20)).toBe(400);
      expect(res.body.message).toContain('sessionId must be a 24-character hexadecimal id');
    }
  });
});

describe('authentication', () => {
  const path = '/api/sessions';
  const post = (token?: string) =>
    new ApiClient(app.url, token).request('POST', path, { json: { questions: [{ text: 'q' }] } });

  it('refuses requests without a token', async () => {
    const res = await post();
    expect(res.status).toBe(401);
    // an RFC 9457 problem, with the fields every error had before
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(res.body).toEqual({
      type: 'about:blank',
      title: 'Unauthorized',
      status: 401,
      detail: 'Missing bearer token: send "Authorization: Bearer <JWT>".',
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Missing bearer token: send "Authorization: Bearer <JWT>".',
    });
  });

  it.each([
    ['malformed', 'not-a-jwt', 'The bearer token is invalid.'],
    ['wrong signature', tokenFor('alice', {}, 'another-secret-0123456789abcdef'), 'The bearer token is invalid.'],
    ['expired', tokenFor('alice', { expiresIn: -10 }), 'The bearer token has expired; sign in again.'],
    ['not yet valid', tokenFor('alice', { notBefore: 3600 }), 'The bearer token is not valid yet.'],
    ['alg none', jwt.sign({ sub: 'alice' }, '', { algorithm: 'none' }), 'The bearer token is invalid.'],
    [
      'HS512 instead of HS256',
      jwt.sign({ sub: 'alice' }, TEST_JWT_SECRET, { algorithm: 'HS512' }),
      'The bearer token is invalid.',
    ],
    [
      'no sub',
      jwt.sign({ name: 'alice' }, TEST_JWT_SECRET, { algorithm: 'HS256', expiresIn: 600 }),
      'The token has no usable "sub" claim; it must name the user.',
    ],
  ])('refuses a %s token', async (_what, token, message) => {
    const res = await post(token);
    expect(res.status).toBe(401);
    expect(res.body.message).toBe(message);
    expect(await db.db.collection('interview_sessions').countDocuments({ user_id: 'alice', title: 'q' })).toBe(0);
  });

  it('keeps /health and /health/ready open', async () => {
    const live = await new ApiClient(app.url).request('GET', '/health');
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ status: 'ok', details: { process: { status: 'up' } } });
    const ready = await new ApiClient(app.url).request('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details).toMatchObject({ database: { status: 'up' }, gridfs: { status: 'up' } });
  });
});
