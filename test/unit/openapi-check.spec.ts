import { describe, expect, it } from 'vitest';
import { DocumentChecker } from '../support/openapi-check.js';

/** The e2e suite's OpenAPI check must be able to fail: each kind of drift it exists to catch. */
const document = {
  paths: {
    '/api/things/{id}': {
      get: {
        responses: {
          '200': {
            description: 'ok',
            headers: { 'X-Request-Id': { required: true, schema: { type: 'string' } } },
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
          },
          '202': {
            description: 'later',
            headers: { 'Retry-After': { required: true, schema: { type: 'integer' } } },
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          '204': { description: 'nothing' },
        },
      },
    },
  },
  components: {
    schemas: {
      Thing: {
        type: 'object',
        properties: { id: { type: 'string' }, note: { type: 'string', nullable: true } },
        required: ['id', 'note'],
      },
      AnswerStatusView: {
        type: 'object',
        properties: { question_id: { type: 'string' }, status: { type: 'string', enum: ['queued', 'completed'] } },
        required: ['question_id', 'status'],
      },
      ProblemView: {
        type: 'object',
        properties: { type: { type: 'string' }, status: { type: 'number' } },
        required: ['type', 'status'],
      },
    },
  },
};

const url = new URL('http://127.0.0.1/api/things/7');
const json = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'r1' };
const check = (status: number, headers: Record<string, string>, text: string | undefined, path = url) =>
  new DocumentChecker(document).check('GET', path, { status, headers, text });

describe('DocumentChecker', () => {
  it('accepts what the document describes, null where it is nullable', () => {
    expect(() => check(200, json, '{"id":"7","note":null}')).not.toThrow();
    expect(() => check(204, { 'x-request-id': 'r1' }, '')).not.toThrow();
  });

  it.each([
    ['an undocumented status', () => check(201, json, '{}'), /a status the document does not list/],
    [
      'a missing required header',
      () => check(200, { 'content-type': 'application/json' }, '{"id":"7","note":null}'),
      /required header X-Request-Id/,
    ],
    ['a header of the wrong type', () => check(202, { ...json, 'retry-after': 'soon' }, '{}'), /not an integer/],
    ['another media type', () => check(200, { ...json, 'content-type': 'text/html' }, '<p>'), /as text\/html/],
    ['a missing property', () => check(200, json, '{"id":"7"}'), /must have required property 'note'/],
    [
      'an undocumented property',
      () => check(200, json, '{"id":"7","note":"x","extra":1}'),
      /must NOT have additional properties/,
    ],
    ['a wrong type', () => check(200, json, '{"id":7,"note":null}'), /must be string/],
    [
      'a body where none is described',
      () => check(204, { 'x-request-id': 'r1' }, 'x'),
      /a body the document does not describe/,
    ],
    [
      'a route the document lacks, answered 200',
      () => check(200, json, '{}', new URL('http://127.0.0.1/api/other')),
      /no such route/,
    ],
  ])('refuses %s', (_what, run, message) => {
    expect(run).toThrow(message);
  });

  it("holds the live stream's events to their schemas", () => {
    const checker = new DocumentChecker(document);
    expect(() => checker.checkEvent('answer', { question_id: 'q1', status: 'completed' })).not.toThrow();
    expect(() => checker.checkEvent('answer', { question_id: 'q1', status: 'done' })).toThrow(
      /must be equal to one of/,
    );
    expect(() => checker.checkEvent('answer', { question_id: 'q1', status: 'queued', x: 1 })).toThrow(/additional/);
    expect(() => checker.checkEvent('progress', {})).toThrow(/does not describe/);
    expect(() => checker.checkEvent('snapshot', {})).toThrow(/no schema SnapshotEventView/);
  });
});
