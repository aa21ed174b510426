import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { TEST_JWT_SECRET } from '../support/app-process.js';
import { wavTone } from '../support/audio.js';
import { useE2eApp } from '../support/e2e.js';
import { DocumentChecker } from '../support/openapi-check.js';
import { TusClient } from '../support/tus.js';

/**
 * Hostile input generated from the service's own OpenAPI document (/docs-json): every route, each
 * path and query parameter and body field given wrong types, huge, empty, deeply nested, Unicode,
 * operator-looking and boundary values, with and without valid tokens. Per case: no 5xx, an answer
 * within the deadline that the document itself describes (status, headers, body), the server alive,
 * and a refused request (4xx) leaves the database as it was. HOSTILE_SEED and HOSTILE_RUNS reproduce or widen a run; the seed is printed.
 */
const SEED = Number(process.env.HOSTILE_SEED ?? 20261202);
const RUNS = Number(process.env.HOSTILE_RUNS ?? 5000);
const DEADLINE_MS = 8_000;

const { db, fake, app } = useE2eApp('hostile', {
  env: {
    RATE_LIMIT_UPLOADS_PER_MINUTE: '100000',
    RATE_LIMIT_ANALYZE_PER_MINUTE: '100000',
    HTTP_REQUEST_TIMEOUT_MS: '5000',
    WEBHOOK_SECRET: 'whsec_' + Buffer.from('hostile-input-webhook-secret-32b').toString('base64'),
  },
});

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Operation {
  method: string;
  path: string;
  pathParams: string[];
  query: { name: string; schema: Schema }[];
  headers: string[];
  body?: { kind: 'json'; schema: Schema } | { kind: 'multipart' } | { kind: 'octets' };
}
interface Schema {
  type?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
  $ref?: string;
  allOf?: Schema[];
}

/** Names JavaScript and MongoDB give a meaning of their own, tried as question ids everywhere. */
const SPECIAL_NAMES = [
  '__proto__',
  'constructor',
  'prototype',
  '$where',
  'a.b',
  'toString',
  'hasOwnProperty',
  'valueOf',
];
/** Session ids that are no ObjectId (12 characters is one the driver would take as bytes). */
const NOT_OBJECT_IDS = [
  'x',
  '{"$ne":null}',
  '{"$gt":""}',
  'aaaaaaaaaaaa',
  '0'.repeat(23),
  'z'.repeat(24),
  '$where',
  '🎤🎧',
];

/**
 * Vocabulary terms of every character class: control characters, line breaks of every kind, "<" and
 * ">", emoji (joined, flags, skin tones), right-to-left scripts and overrides, invisible and
 * combining characters, lone surrogates, and lengths around and far past the limit.
 */
const HOSTILE_TERMS = [
  'tab\there',
  'bell\u0007',
  'nul\u0000',
  'del\u007f',
  'c1\u009f',
  'two\nlines',
  'crlf\r\n',
  'nel\u0085',
  'line\u2028sep',
  'para\u2029sep',
  'List<T>',
  '<script>',
  'a > b',
  '🎤',
  '👩‍💻 dev',
  '🇩🇪 Berlin',
  '👍🏽',
  'שלום עולם',
  'مرحبا بالعالم',
  'abc\u202edcba',
  'zero\u200bwidth',
  'non\u00a0breaking',
  'e\u0301\u0301\u0301',
  'half \ud83c',
  '\udc00 low',
  ' ',
  '',
  'x'.repeat(60),
  'x'.repeat(61),
  'ﷺ'.repeat(60),
  'y'.repeat(100_000),
];

/** Lone surrogates replaced (encodeURIComponent throws on them; the server would never see them). */
const wellFormed = (value: string) => (value as unknown as { toWellFormed(): string }).toWellFormed();

/** Placeholders replaced when the case runs: the ids of what exists at that moment. */
const OWN_SESSION = '\u0000own-session';
const OWN_QUESTION = '\u0000own-question';
const OWN_UPLOAD = '\u0000own-upload';

const nest = (depth: number, leaf: Json, asArray: boolean): Json => {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = asArray ? [value] : { a: value };
  return value;
};

const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    'null',
    'true',
    '$where',
    '$gt',
    'a.b',
    '../../etc/passwd',
    '%00',
    '\u0000',
    '\ud800',
    '🎤🎧'.repeat(50),
    'ﷺ'.repeat(300),
    '000000000000000000000000',
    'ffffffffffffffffffffffff',
    'q1',
    'in_progress',
    'analyzed',
    'https://127.0.0.1/hook',
    'https://example.com/hook',
    'http://169.254.169.254/latest',
    'eyJhbGciOiJub25lIn0.e30.',
  ),
  fc.integer({ min: 1, max: 200_000 }).map((n) => 'x'.repeat(n)),
);
const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, -1, 1, 0.5, 100, 101, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, -1e308, 8.64e15 + 1),
);
const operator = fc.constantFrom<Json>(
  { $gt: '' },
  { $ne: null },
  { $where: 'sleep(1000)' },
  { $regex: '.*' },
  { $in: [] },
  JSON.parse('{"__proto__": {"admin": true}}'),
  JSON.parse('{"constructor": {"prototype": {"admin": true}}}'),
);
const leaf: fc.Arbitrary<Json> = fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null), operator);
const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 6 }) },
  { weight: 1, arbitrary: fc.dictionary(hostileString, leaf, { maxKeys: 6 }) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 20, max: 3_000 }), leaf, fc.boolean()).map(([d, l, a]) => nest(d, l, a)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 30_000 }).map((n) => Array.from({ length: n }, () => 0)) },
);

/** A value the schema would take, so that hostility sits in one place while the rest is valid. */
function plausible(schema: Schema, doc: any): fc.Arbitrary<Json> {
  const resolved = resolve(schema, doc);
  if (resolved.enum) return fc.constantFrom(...(resolved.enum as Json[]));
  switch (resolved.type) {
    case 'string':
      return fc.oneof(
        fc.constantFrom('q1', 'An interview question?', 'en'),
        fc.string({ minLength: 1, maxLength: 20 }),
      );
    case 'integer':
    case 'number':
      return fc.integer({ min: 1, max: 50 });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(resolved.items ? plausible(resolved.items, doc) : leaf, { minLength: 1, maxLength: 3 });
    case 'object':
    default:
      return objectOf(resolved, doc, false);
  }
}

function resolve(schema: Schema, doc: any): Schema {
  if (schema.$ref) return resolve(doc.components.schemas[schema.$ref.split('/').pop()!], doc);
  if (schema.allOf?.length === 1) return resolve(schema.allOf[0], doc);
  return schema;
}

/** Fields whose values the service gives a meaning: tried with the names and terms that break naive code. */
const NAMED: Record<string, fc.Arbitrary<Json>> = {
  question_id: fc.constantFrom(...SPECIAL_NAMES),
  vocabulary: fc.array(fc.constantFrom(...HOSTILE_TERMS), { minLength: 1, maxLength: 4 }),
};

/** An object of the schema's properties, each plausible or hostile, some left out, some added. */
function objectOf(schema: Schema, doc: any, hostile: boolean): fc.Arbitrary<Json> {
  const properties = Object.entries(resolve(schema, doc).properties ?? {});
  if (properties.length === 0) return fc.dictionary(hostileString, leaf, { maxKeys: 3 });
  const fields = properties.map(([name, field]) =>
    fc
      .oneof(
        { weight: 3, arbitrary: plausible(field, doc) },
        { weight: NAMED[name] ? 2 : 0, arbitrary: NAMED[name] ?? fc.constant(undefined) },
        { weight: hostile ? 2 : 0, arbitrary: hostileValue },
        { weight: 1, arbitrary: fc.constant(undefined) },
      )
      .map((value) => [name, value] as const),
  );
  return fc
    .tuple(fc.tuple(...fields), fc.option(fc.tuple(hostileString, hostileValue), { freq: 4 }))
    .map(([entries, extra]) => {
      const object: Record<string, Json> = {};
      for (const [name, value] of entries) if (value !== undefined) object[name] = value;
      if (extra) object[extra[0]] = extra[1];
      return object;
    });
}

function operationsOf(doc: any): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const parameters = [...(item.parameters ?? []), ...(op.parameters ?? [])];
      const content = op.requestBody?.content ?? {};
      operations.push({
        method: method.toUpperCase(),
        path,
        pathParams: parameters.filter((p: any) => p.in === 'path').map((p: any) => p.name),
        query: parameters.filter((p: any) => p.in === 'query').map((p: any) => ({ name: p.name, schema: p.schema })),
        headers: parameters.filter((p: any) => p.in === 'header').map((p: any) => String(p.name).toLowerCase()),
        body: content['application/json']
          ? { kind: 'json', schema: content['application/json'].schema }
          : content['multipart/form-data']
            ? { kind: 'multipart' }
            : content['application/offset+octet-stream']
              ? { kind: 'octets' }
              : undefined,
      });
    }
  }
  return operations;
}

type TokenKind = 'none' | 'owner' | 'stranger' | 'garbage' | 'expired' | 'no-exp';
interface Case {
  operation: number;
  token: TokenKind;
  pathValues: string[];
  query: [string, string][];
  headers: [string, string][];
  body:
    | { kind: 'none' }
    | { kind: 'json'; value: Json }
    | { kind: 'raw'; text: string; contentType: string }
    | { kind: 'multipart'; field: string; bytes: Uint8Array; filename: string }
    | { kind: 'octets'; bytes: Uint8Array; contentType: string };
}

/**
 * Query strings and path segments are kept under Node's 16 KB header limit (a longer one only ever
 * meets the 431 answer in front of the app); a few go past it on purpose.
 */
function underHeaderLimit(value: string): string {
  let cut = value;
  while (encodeURIComponent(wellFormed(cut)).length > 4000) cut = cut.slice(0, Math.floor(cut.length * 0.7));
  return cut;
}
const oversized = fc.integer({ min: 17_000, max: 40_000 }).map((n) => 'y'.repeat(n));

function caseArbitrary(operations: Operation[], doc: any): fc.Arbitrary<Case> {
  return fc.integer({ min: 0, max: operations.length - 1 }).chain((index) => {
    const op = operations[index];
    const pathValue = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(OWN_SESSION, OWN_QUESTION, OWN_UPLOAD) },
      { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_NAMES, ...NOT_OBJECT_IDS) },
      // under the 16 KB header limit but for a few, so that routing and validation are reached
      { weight: 8, arbitrary: hostileString.map(underHeaderLimit) },
      { weight: 4, arbitrary: hostileValue.map((v) => underHeaderLimit(JSON.stringify(v) ?? '')) },
      { weight: 1, arbitrary: oversized },
    );
    const query = fc.tuple(
      fc.tuple(
        ...op.query.map((q) =>
          fc
            .oneof(
              fc.constant(undefined),
              plausible(q.schema, doc).map(String),
              hostileString.map(underHeaderLimit),
              hostileValue.map((v) => underHeaderLimit(JSON.stringify(v) ?? '')),
            )
            .map((v) => [q.name, v] as [string, string | undefined]),
        ),
      ),
      fc.option(
        fc.oneof(
          { weight: 9, arbitrary: fc.tuple(hostileString.map(underHeaderLimit), hostileString.map(underHeaderLimit)) },
          { weight: 1, arbitrary: fc.tuple(fc.constant('q'), oversized) },
        ),
        { freq: 3 },
      ),
    );
    const body: fc.Arbitrary<Case['body']> =
      op.body?.kind === 'json'
        ? fc.oneof(
            {
              weight: 4,
              arbitrary: objectOf(op.body.schema, doc, true).map((value) => ({ kind: 'json' as const, value })),
            },
            { weight: 2, arbitrary: hostileValue.map((value) => ({ kind: 'json' as const, value })) },
            {
              weight: 1,
              arbitrary: fc
                .tuple(
                  fc.string({ maxLength: 200 }),
                  fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
                )
                .map(([text, contentType]) => ({ kind: 'raw' as const, text, contentType })),
            },
          )
        : op.body?.kind === 'multipart'
          ? fc.oneof(
              fc
                .tuple(fc.constantFrom('audio', 'file', ''), audioLookingBytes, hostileString)
                .map(([field, bytes, filename]) => ({
                  kind: 'multipart' as const,
                  field,
                  bytes,
                  filename: filename || 'a.webm',
                })),
              hostileValue.map((value) => ({ kind: 'json' as const, value })),
            )
          : op.body?.kind === 'octets'
            ? fc.oneof(
                fc
                  .tuple(
                    audioLookingBytes,
                    fc.constantFrom('application/offset+octet-stream', 'application/octet-stream', 'text/plain'),
                  )
                  .map(([bytes, contentType]) => ({ kind: 'octets' as const, bytes, contentType })),
                hostileValue.map((value) => ({ kind: 'json' as const, value })),
              )
            : fc.oneof(
                fc.constant({ kind: 'none' as const }),
                hostileValue.map((value) => ({ kind: 'json' as const, value })),
              );
    const headers = fc.tuple(
      ...op.headers.map((name) =>
        fc
          .oneof(
            { weight: 1, arbitrary: fc.constant(undefined) },
            { weight: 3, arbitrary: plausibleHeader(name) },
            { weight: 2, arbitrary: hostileString.map(headerSafe) },
          )
          .map((value) => [name, value] as [string, string | undefined]),
      ),
    );
    return fc.record({
      operation: fc.constant(index),
      token: fc.constantFrom<TokenKind>('owner', 'owner', 'owner', 'none', 'stranger', 'garbage', 'expired', 'no-exp'),
      pathValues: fc.tuple(...op.pathParams.map(() => pathValue)),
      query: query.map(([fields, extra]) => [
        ...fields.filter((f) => f[1] !== undefined).map(([k, v]) => [k, v!] as [string, string]),
        ...(extra ? [[extra[0], extra[1]] as [string, string]] : []),
      ]),
      headers: headers.map((pairs) => pairs.filter((p): p is [string, string] => p[1] !== undefined)),
      body,
    });
  });
}

const audioLookingBytes = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }),
  fc.constantFrom(
    Buffer.from('ID3\x04\x00\x00\x7f\x7f\x7f\x7f', 'latin1'),
    Buffer.from('OggS\x00\x02', 'latin1'),
    Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1'),
    Buffer.from('\x1aE\xdf\xa3\x9fB\x82\x84webm', 'latin1'),
    Buffer.from('fLaC\x00\x00\x00\x22', 'latin1'),
    Buffer.from('\x00\x00\x00\x18ftypM4A ', 'latin1'),
  ),
);

/** A header value fetch will send (visible ASCII): hostility in the value, not in the client. */
const headerSafe = (value: string) => value.replace(/[^\x20-\x7e]/g, '').slice(0, 4000);

/** What a tus client would send in the header, so that the hostile part sits elsewhere. */
function plausibleHeader(name: string): fc.Arbitrary<string> {
  switch (name) {
    case 'tus-resumable':
      return fc.constantFrom('1.0.0', '1.0.0', '0.2.2');
    case 'upload-length':
      return fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }).map(String), fc.constantFrom('-1', '1e3', '9'.repeat(30)));
    case 'upload-offset':
      return fc.oneof(fc.constantFrom('0', '0', '-1', '1.5'), fc.nat(100_000).map(String));
    case 'upload-metadata':
      return fc
        .tuple(
          fc.constantFrom(OWN_SESSION, OWN_SESSION, '000000000000000000000000', ...NOT_OBJECT_IDS),
          fc.constantFrom(OWN_QUESTION, OWN_QUESTION, 'nope', ...SPECIAL_NAMES),
        )
        .map(([session, question]) => `session_id ${session},question_id ${question}`);
    default:
      return fc.string({ maxLength: 20 }).map(headerSafe);
  }
}

const TOKENS: Record<TokenKind, string | undefined> = {
  none: undefined,
  owner: tokenFor('hostile-owner'),
  stranger: tokenFor('hostile-stranger'),
  garbage: 'garbage.token.value',
  expired: tokenFor('hostile-owner', { expiresIn: -60 }),
  'no-exp': jwt.sign({ sub: 'hostile-owner' }, TEST_JWT_SECRET, { algorithm: 'HS256' }),
};

/** Counts of every collection and a hash of every session's and analysis' content. */
async function snapshot(): Promise<string> {
  const names = (await db.db.listCollections().toArray()).map((c) => c.name).sort();
  const parts = await Promise.all(
    names.map(async (name) => {
      // taken and released within one request (a lease row may be deleted just after the answer)
      if (name === 'document_locks' || name === 'user_leases') return '';
      if (name === 'interview_sessions' || name === 'analyses') {
        const docs = await db.db.collection(name).find({}).sort({ _id: 1 }).toArray();
        return `${name}:${createHash('sha256').update(JSON.stringify(docs)).digest('hex')}`;
      }
      return `${name}:${await db.db.collection(name).countDocuments()}`;
    }),
  );
  return parts.join(' ');
}

describe('named hostile inputs', () => {
  it('tus creation refuses metadata naming no ObjectId or no question id with a 400 that says why', async () => {
    const owner = new ApiClient(app.url, TOKENS.owner);
    const tus = new TusClient(owner);
    const session = await owner.newSession(['q1']);
    const before = await snapshot();
    for (const bad of NOT_OBJECT_IDS) {
      const res = await tus.create(bad, 'q1', 1000);
      expect(res.status, bad).toBe(400);
      expect(res.body.detail).toBe(
        'Upload-Metadata session_id must be a 24-character hexadecimal id as returned by POST /api/sessions.',
      );
    }
    for (const bad of ['$where', 'a.b', '../q1', 'q 1', 'x'.repeat(65)]) {
      const res = await tus.create(session, bad, 1000);
      expect(res.status, bad).toBe(400);
      expect(res.body.detail).toBe(
        'Upload-Metadata question_id must be 1 to 64 characters of A-Z, a-z, 0-9, "_" or "-".',
      );
    }
    // well-formed, but no such question in the session: as for any other
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const res = await tus.create(session, name, 1000);
      expect(res.status, name).toBe(404);
    }
    expect(await snapshot()).toBe(before);
    expect(app.problems().filter((line) => /"level":"(error|fatal)"/.test(line))).toEqual([]);
  });

  it('question ids special to JavaScript and MongoDB are refused with a sentence or work as ordinary ids, on every route', async () => {
    const api = new ApiClient(app.url, tokenFor('named-ids'));
    const tus = new TusClient(api);
    const statuses: number[] = [];
    const seen = <T extends { status: number }>(res: T) => (statuses.push(res.status), res);
    const ordinary = await api.newSession(['q1']);
    const wav = wavTone(0.3, 500);
    for (const name of SPECIAL_NAMES) {
      const shaped = /^[A-Za-z0-9_-]{1,64}$/.test(name);
      const reserved = ['__proto__', 'constructor', 'prototype'].includes(name);
      const created = seen(
        await api.createSession([
          { question_id: name, text: 'Q?' },
          { question_id: 'other', text: 'Q?' },
        ]),
      );
      if (!shaped || reserved) {
        expect(created.status, name).toBe(400);
        expect(created.body.message, name).toContain(
          reserved ? 'must not be __proto__, constructor or prototype' : 'question_id must be 1 to 64 characters',
        );
      } else {
        expect(created.status, name).toBe(201);
        const id = created.body.session_id as string;
        expect(seen(await api.request('GET', `/api/sessions/${id}`)).body.answers).toEqual({});
        expect(seen(await api.answerStatus(id, name)).status).toBe(404);
        expect(seen(await api.upload(id, name, wav, { contentType: 'audio/wav' })).status).toBe(202);
        expect((await api.waitForAnswer(id, name)).status).toBe('completed');
        const view = seen(await api.request('GET', `/api/sessions/${id}`));
        expect(Object.keys(view.body.answers)).toEqual([name]);
        expect(seen(await api.sessionStatus(id)).body.summary).toMatchObject({ completed: 1, not_uploaded: 1 });
        expect(seen(await api.request('GET', `/api/sessions/${id}/export`)).status).toBe(200);
        expect(seen(await api.request('POST', `/api/transcription-retry/${id}/${name}`)).status).toBe(409);
        const upload = await tus.start(id, name, wav.length);
        expect(seen(await tus.terminate(upload)).status).toBe(204);
        expect(seen(await api.request('DELETE', `/api/upload-answer/${id}/${name}`)).status).toBe(204);
        const analysis = seen(await api.request('POST', `/api/analyze/${id}`));
        expect(analysis.status).toBe(200);
        expect(analysis.body.unanswered).toEqual([name, 'other']);
      }
      // the name as a path segment or tus metadata of a session without such a question
      const path = encodeURIComponent(name);
      const expected = shaped ? 404 : 400;
      expect(seen(await api.answerStatus(ordinary, path)).status, name).toBe(expected);
      expect(seen(await api.upload(ordinary, path, wav, { contentType: 'audio/wav' })).status, name).toBe(expected);
      expect(seen(await api.request('DELETE', `/api/upload-answer/${ordinary}/${path}`)).status, name).toBe(expected);
      expect(seen(await api.request('POST', `/api/transcription-retry/${ordinary}/${path}`)).status, name).toBe(
        expected,
      );
      expect(seen(await tus.create(ordinary, name, 1000)).status, name).toBe(expected);
    }
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(app.problems().filter((line) => /"level":"(error|fatal)"/.test(line))).toEqual([]);
  });

  it('vocabularies of every character class: created, or refused with a 400 naming the term; what is created transcribes', async () => {
    const api = new ApiClient(app.url, tokenFor('named-vocabulary'));
    const accepted = HOSTILE_TERMS.filter(
      (t) =>
        t.trim() !== '' &&
        t.length <= 60 &&
        !/[\p{Cc}\u2028\u2029<>]/u.test(t) &&
        !/[\ud800-\udfff]/.test(t.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')),
    );
    expect(accepted.length).toBeGreaterThanOrEqual(10);
    for (const term of HOSTILE_TERMS) {
      const res = await api.request('POST', '/api/sessions', {
        json: { questions: [{ question_id: 'q1', text: 'Q?', vocabulary: [term] }] },
      });
      const label = JSON.stringify(term).slice(0, 40);
      if (accepted.includes(term)) {
        expect(res.status, label).toBe(201);
      } else {
        expect(res.status, label).toBe(400);
        expect(res.body.message, label).toMatch(
          /vocabulary term ".*" (must|is \d+ characters long)|vocabulary terms must not be empty/s,
        );
      }
    }
    // every accepted class in one question: the strict provider takes them as keywords
    const created = await api.request('POST', '/api/sessions', {
      json: { questions: [{ question_id: 'q1', text: 'Q?', vocabulary: accepted }] },
    });
    expect(created.status).toBe(201);
    const id = created.body.session_id as string;
    expect((await api.upload(id, 'q1', wavTone(0.3, 510), { contentType: 'audio/wav' })).status).toBe(202);
    const done = await api.waitForAnswer(id, 'q1');
    expect(done).toMatchObject({ status: 'completed' });
    expect(done.transcribed_without_hints).toBeUndefined();
    const sent = fake.requests.filter((r) => r.status === 200 && r.keywords?.includes(accepted[0])).at(-1)!;
    expect(sent.keywords!.slice(0, accepted.length)).toEqual(accepted);
    expect(app.problems().filter((line) => /"level":"(error|fatal)"/.test(line))).toEqual([]);
  });
});

describe('hostile input from the OpenAPI document', () => {
  it('never answers 5xx, never hangs, never dies, and changes nothing it refuses', { timeout: 420_000 }, async () => {
    const doc = (await (await fetch(`${app.url}/docs-json`)).json()) as any;
    const operations = operationsOf(doc);
    expect(operations.length).toBeGreaterThan(10);
    // every answer, refusals included, is held to the document: status, headers and body
    const checker = new DocumentChecker(doc);
    const owner = new ApiClient(app.url, TOKENS.owner);
    const tus = new TusClient(owner);
    const ownAnswer = async (session?: string) => {
      session ??= await owner.newSession(['q1', 'q2']);
      return { session, question: 'q1', upload: await tus.start(session, 'q1', 1 << 20) };
    };
    let own = await ownAnswer();
    const cases = fc.sample(caseArbitrary(operations, doc), { seed: SEED, numRuns: RUNS });
    console.log(
      `hostile input: seed ${SEED} (HOSTILE_SEED), ${RUNS} cases (HOSTILE_RUNS), ${operations.length} operations`,
    );

    const statuses = new Map<number, number>();
    const covered = new Set<string>();
    const failures: string[] = [];
    let before = await snapshot();
    const started = Date.now();
    for (const [n, c] of cases.entries()) {
      const op = operations[c.operation];
      const fill = (v: string) =>
        v === OWN_SESSION ? own.session : v === OWN_QUESTION ? own.question : v === OWN_UPLOAD ? own.upload : v;
      const b64 = (v: string) => Buffer.from(fill(v)).toString('base64');
      let path = op.path;
      op.pathParams.forEach((name, i) => {
        path = path.replace(`{${name}}`, encodeURIComponent(wellFormed(fill(c.pathValues[i]))) || 'x');
      });
      const search = new URLSearchParams(c.query).toString();
      const headers: Record<string, string> = TOKENS[c.token] ? { authorization: `Bearer ${TOKENS[c.token]}` } : {};
      for (const [name, value] of c.headers) {
        headers[name] =
          name === 'upload-metadata' && value.startsWith('session_id ')
            ? value.replace(
                /(session_id|question_id) (\S+?)(?=,|$)/g,
                (_, key: string, v: string) => `${key} ${b64(v)}`,
              )
            : value;
      }
      let body: string | FormData | undefined;
      if (c.body.kind === 'json') {
        body = JSON.stringify(c.body.value) ?? 'null';
        headers['content-type'] = 'application/json';
      } else if (c.body.kind === 'raw') {
        body = c.body.text;
        headers['content-type'] = c.body.contentType;
      } else if (c.body.kind === 'octets') {
        body = Buffer.from(c.body.bytes) as unknown as string;
        headers['content-type'] = c.body.contentType;
      } else if (c.body.kind === 'multipart') {
        const form = new FormData();
        form.append(c.body.field, new Blob([Buffer.from(c.body.bytes)]), c.body.filename);
        body = form;
      }
      if (op.method === 'GET' || op.method === 'DELETE') body = undefined;
      const url = `${app.url}${path}${search ? `?${search}` : ''}`;
      const label = `case ${n}: ${op.method} ${url.slice(0, 200)} token=${c.token} body=${(typeof body === 'string' ? body : JSON.stringify(body ?? '')).slice(0, 200)}`;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), DEADLINE_MS);
      let status: number;
      try {
        const res = await fetch(url, { method: op.method, headers, body, signal: controller.signal });
        status = res.status;
        // a live stream stays open: its headers are the answer
        const streaming = res.headers.get('content-type')?.startsWith('text/event-stream');
        const text = streaming ? (await res.body?.cancel(), undefined) : await res.text();
        try {
          checker.check(op.method, new URL(url), { status, headers: res.headers, text });
        } catch (error) {
          failures.push(`${label}: ${(error as Error).message}`);
        }
      } catch (error) {
        // past the 16 KB header limit Node answers 431 and closes, cutting off a body still being sent
        if (!controller.signal.aborted && url.length > 16 * 1024) {
          statuses.set(431, (statuses.get(431) ?? 0) + 1);
          continue;
        }
        failures.push(
          `${label}: ${controller.signal.aborted ? `no answer within ${DEADLINE_MS} ms` : (error as Error).message}`,
        );
        status = -1;
      } finally {
        clearTimeout(timer);
      }
      covered.add(`${op.method} ${op.path}`);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status >= 500) failures.push(`${label}: ${status}`);
      if (app.proc.exitCode !== null || app.proc.signalCode !== null) {
        failures.push(`${label}: the server exited`);
        break;
      }
      if (status >= 400 && status < 500) {
        const after = await snapshot();
        if (after !== before) failures.push(`${label}: refused with ${status} but the database changed`);
        before = after;
      } else if (status >= 200 && status < 300) {
        // what a success changed is its business; the deletion of our session means a new one
        if (op.method === 'DELETE' && path.includes(own.session)) own = await ownAnswer();
        // an upload taken to its end, or terminated, is replaced by a fresh one
        else if (path.startsWith('/api/uploads') && (await tus.head(own.upload)).status !== 200) {
          own = await ownAnswer(own.session);
        }
        await new Promise((r) => setTimeout(r, 20));
        before = await snapshot();
      }
      if (failures.length >= 20) break;
    }
    const seconds = (Date.now() - started) / 1000;
    const histogram = [...statuses.entries()].sort(([a], [b]) => a - b).map(([s, k]) => `${s}: ${k}`);
    console.log(
      `hostile input: ${cases.length} cases in ${seconds.toFixed(1)} s, ${covered.size} of ${operations.length} operations covered, ` +
        `5xx ${[...statuses.entries()].filter(([s]) => s >= 500).reduce((sum, [, k]) => sum + k, 0)}; statuses ${histogram.join(', ')}`,
    );
    if (failures.length > 0) console.log(`hostile input failures:\n${failures.join('\n')}`);
    expect(failures).toEqual([]);
    expect(covered.size).toBe(operations.length);
    // every stream and upload lease of the run was given back, refused requests' included
    const leaseDeadline = Date.now() + 5_000;
    while ((await db.db.collection('user_leases').countDocuments()) > 0 && Date.now() < leaseDeadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(await db.db.collection('user_leases').countDocuments()).toBe(0);
    expect(app.problems().filter((line) => /"level":"(error|fatal)"/.test(line) || !line.startsWith('{'))).toEqual([]);
  });
});
