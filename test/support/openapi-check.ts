import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/*
 * Holds every response the e2e suite receives to the OpenAPI document the server itself serves at
 * /docs-json: the status must be documented for that route, the headers marked required must be
 * there (and match their schema), the media type must be one the response lists, and the body must
 * validate against its schema. Objects are checked closed: a property the server sends that the
 * document does not describe is drift too. The shared clients (ApiClient, rawRequest, the SSE
 * client) call checkResponse, so every e2e file is held to the document without asking.
 */

type Schema = Record<string, any>;
interface ResponseObject {
  description: string;
  headers?: Record<string, { required?: boolean; schema?: Schema }>;
  content?: Record<string, { schema?: Schema }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, ResponseObject> }>>;
  components?: { schemas?: Record<string, Schema> };
}

export interface ReceivedResponse {
  status: number;
  headers: Headers | Record<string, string | string[] | undefined>;
  /** The body as text; undefined when it is a stream that was not read (SSE). */
  text: string | undefined;
}

const NOT_FOUND: ResponseObject = {
  description: 'any path the API does not have',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemView' } } },
};
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const DOCUMENT_ID = 'openapi';
/** The server's own routes; the document itself and the web app's pages are not checked. */
const SERVER_PATH = /^\/(api|health|metrics)(\/|$)/;

/**
 * OpenAPI 3.0 schemas as JSON Schema for Ajv: `nullable` becomes "or null", and an object schema
 * with properties that says nothing about others allows no others.
 */
function toJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'nullable' || key === 'example') continue;
    if (key === '$ref' && typeof value === 'string') out.$ref = value.replace(/^#/, `${DOCUMENT_ID}#`);
    else if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, toJsonSchema(v)]));
    } else out[key] = toJsonSchema(value);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return (schema as Schema).nullable ? { anyOf: [{ type: 'null' }, out] } : out;
}

function headerOf(headers: ReceivedResponse['headers'], name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

export class DocumentChecker {
  private readonly ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
  private readonly validators = new WeakMap<Schema, ValidateFunction>();
  private readonly routes: { pattern: RegExp; path: string; literal: number }[];

  constructor(private readonly document: OpenApiDocument) {
    this.ajv.addSchema({ $id: DOCUMENT_ID, components: toJsonSchema(document.components ?? {}) });
    this.routes = Object.keys(document.paths)
      .map((path) => ({
        path,
        pattern: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
        literal: path.replace(/\{[^}]+\}/g, '').length,
      }))
      .sort((a, b) => b.literal - a.literal);
  }

  check(method: string, url: URL, received: ReceivedResponse): void {
    const where = `${method} ${url.pathname} answered ${received.status}`;
    // a HEAD answer has the GET's headers and never a body: status, headers and media type are checked
    if (method === 'HEAD') received = { ...received, text: undefined };
    const route = this.routes.find((r) => r.pattern.test(url.pathname));
    const operation = route && this.document.paths[route.path][method.toLowerCase()];
    if (!operation) {
      // not a route of the API: only a 404 problem is right
      if (received.status !== 404) throw new Error(`OpenAPI: ${where}, but the document has no such route`);
      return this.checkBody(where, NOT_FOUND, received);
    }
    const response = operation.responses[String(received.status)];
    if (!response) {
      throw new Error(
        `OpenAPI: ${where}, a status the document does not list for ${method} ${route.path} ` +
          `(it lists ${Object.keys(operation.responses).join(', ')}): ${received.text?.slice(0, 300)}`,
      );
    }
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      const value = headerOf(received.headers, name);
      if (value === undefined) {
        if (header.required) throw new Error(`OpenAPI: ${where} without the required header ${name}`);
        continue;
      }
      if (header.schema?.type === 'integer' && !/^\d+$/.test(value)) {
        throw new Error(`OpenAPI: ${where} with ${name}: ${value}, which is not an integer`);
      }
    }
    this.checkBody(where, response, received);
  }

  private checkBody(where: string, response: ResponseObject, received: ReceivedResponse): void {
    const contentType = headerOf(received.headers, 'content-type')?.split(';')[0].trim().toLowerCase();
    if (!response.content) {
      if (received.text) throw new Error(`OpenAPI: ${where} with a body the document does not describe`);
      return;
    }
    const media = contentType && response.content[contentType];
    if (!media) {
      throw new Error(
        `OpenAPI: ${where} as ${contentType ?? 'no content type'}; the document says ${Object.keys(response.content).join(' or ')}`,
      );
    }
    if (received.text === undefined || !media.schema || !/json$/.test(contentType)) return;
    let body: unknown;
    try {
      body = JSON.parse(received.text);
    } catch {
      throw new Error(`OpenAPI: ${where} with a body that is not JSON: ${received.text.slice(0, 200)}`);
    }
    const validate = this.validatorFor(media.schema);
    if (!validate(body)) {
      const errors = validate.errors?.map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
      throw new Error(
        `OpenAPI: ${where} with a body that does not match the document:\n  ${errors?.join('\n  ')}\nbody: ${received.text.slice(0, 1500)}`,
      );
    }
  }

  /** An event of the live stream: its data against the component the route's description names. */
  checkEvent(event: string, data: unknown): void {
    const name = STREAM_EVENTS[event];
    if (name === undefined)
      throw new Error(`OpenAPI: the event stream sent "${event}", which the document does not describe`);
    if (!name) return;
    if (!this.document.components?.schemas?.[name]) throw new Error(`OpenAPI: the document has no schema ${name}`);
    const validate = this.validatorFor({ $ref: `#/components/schemas/${name}` });
    if (!validate(data)) {
      throw new Error(`OpenAPI: the "${event}" event does not match ${name}: ${this.ajv.errorsText(validate.errors)}`);
    }
  }

  private validatorFor(schema: Schema): ValidateFunction {
    let validate = this.validators.get(schema);
    if (!validate) {
      validate = this.ajv.compile(toJsonSchema(schema) as Schema);
      this.validators.set(schema, validate);
    }
    return validate;
  }
}

/** The live stream's events and the schema each one's data has (null: `{}`, nothing to check). */
const STREAM_EVENTS: Record<string, string | null> = {
  snapshot: 'SnapshotEventView',
  answer: 'AnswerStatusView',
  ready: 'ReadyEventView',
  analyzed: 'AnalyzedEventView',
  shutdown: null,
};

/** Per server: its document's checker, or null for a server that serves none (ROLE=worker). */
const checkers = new Map<string, Promise<DocumentChecker | null>>();

function checkerFor(origin: string): Promise<DocumentChecker | null> {
  let checker = checkers.get(origin);
  if (!checker) {
    checker = fetch(`${origin}/docs-json`).then(async (res) =>
      res.status === 200 ? new DocumentChecker((await res.json()) as OpenApiDocument) : null,
    );
    checkers.set(origin, checker);
    // a server that could not be asked (it is stopping) is asked again next time
    checker.catch(() => checkers.delete(origin));
  }
  return checker;
}

/** Throws when an event of GET /api/sessions/:sessionId/events is not what the document describes. */
export async function checkStreamEvent(url: string, event: string, data: unknown): Promise<void> {
  if (!process.env.VITEST) return;
  const checker = await checkerFor(new URL(url).origin).catch(() => null);
  checker?.checkEvent(event, data);
}

/** Throws when the response is not what the server's own OpenAPI document says it answers. */
export async function checkResponse(method: string, url: string, received: ReceivedResponse): Promise<void> {
  // inside the test runner only: the benchmarks use these clients too, and measure the server
  if (!process.env.VITEST) return;
  const target = new URL(url);
  if (received.status === 0 || !SERVER_PATH.test(target.pathname)) return;
  const checker = await checkerFor(target.origin).catch(() => null);
  checker?.check(method.toUpperCase(), target, received);
}
