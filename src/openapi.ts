import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, getSchemaPath, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { ProblemView } from './common/dto/problem.dto.js';
import { PROBLEM_JSON } from './common/problem-details.js';

type Responses = Record<string, { description: string; headers?: object; content?: Record<string, object> }>;
type Operation = { security?: unknown[]; requestBody?: unknown; responses: Responses };

/** Errors any route can answer, besides the ones each route declares. */
const EVERY_ROUTE: Record<string, string> = {
  '500': 'A bug: the server logs it; the problem says nothing more.',
  '503': 'The database is unreachable for the moment; retry in a few seconds.',
};
/** Answered by Node's HTTP server before the request reaches the service: no body, no X-Request-Id. */
const BEFORE_THE_SERVICE: Record<string, string> = {
  '431': "A request header over Node's limit (16 KB in all); answered by the HTTP server itself, without a body.",
};
/** And a route that takes a body. */
const WITH_BODY: Record<string, string> = {
  '400': 'The body is not valid (malformed JSON, a wrong field, a missing one); `detail` says which.',
  '408': 'The body did not arrive within HTTP_REQUEST_TIMEOUT_MS.',
  '413': 'The body is too large.',
};

const REQUEST_ID = {
  'X-Request-Id': {
    description: "The request's id: the caller's own when it is 1–128 of [A-Za-z0-9._:-], else a new UUID.",
    required: true,
    schema: { type: 'string' },
  },
};

/**
 * What holds for every route, added to the document generated from the controllers: times are
 * date-time strings, errors are
 * RFC 9457 problems (application/problem+json), every route may answer 500 and 503 (and 400, 408
 * and 413 when it takes a body), routes with a bearer token answer 401 without one, every
 * response the service makes carries X-Request-Id, and Node's own 431 is listed too.
 */
export function applyConventions(document: OpenAPIObject): OpenAPIObject {
  const problem = { schema: { $ref: getSchemaPath(ProblemView) } };
  // every time the API sends is an ISO 8601 string in a field named *_at (or `at`)
  for (const schema of Object.values(document.components?.schemas ?? {}) as { properties?: object }[]) {
    for (const [name, property] of Object.entries(schema.properties ?? {}) as [string, { type?: string }][]) {
      if (/(^|_)at$/.test(name) && property.type === 'string') Object.assign(property, { format: 'date-time' });
    }
  }
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path) as Operation[]) {
      if (!operation?.responses) continue;
      const common = {
        ...EVERY_ROUTE,
        ...(operation.requestBody ? WITH_BODY : {}),
        ...(operation.security?.length ? { '401': 'No valid bearer token.' } : {}),
      };
      for (const [status, description] of Object.entries(common)) {
        operation.responses[status] ??= { description };
      }
      for (const [status, response] of Object.entries(operation.responses)) {
        response.headers = { ...REQUEST_ID, ...response.headers };
        if (Number(status) < 400) continue;
        // a problem declared as JSON is served as problem+json; other bodies (a failed health check) stay
        const declared = Object.values(response.content ?? {})[0] as { schema?: { $ref?: string } } | undefined;
        if (!declared) response.content = { [PROBLEM_JSON]: problem };
        else if (declared.schema?.$ref?.endsWith('ProblemView')) response.content = { [PROBLEM_JSON]: declared };
      }
      for (const [status, description] of Object.entries(BEFORE_THE_SERVICE)) {
        operation.responses[status] = { description };
      }
    }
  }
  return document;
}

/**
 * The OpenAPI document, generated from the controllers and DTOs (the @nestjs/swagger compiler
 * plugin reads their types, validators and doc comments at build time). It needs only the
 * application's modules, not a running one: the web app's types are generated from it offline.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Voice interview API')
    .setDescription(
      'Sessions, answer uploads (multipart, streamed into GridFS), background transcription status, ' +
        'live events (SSE), analysis and erasure. Every route but /health, /metrics and /api/auth needs a ' +
        'bearer JWT. Errors are RFC 9457 problem details (application/problem+json).',
    )
    .setVersion(process.env.npm_package_version ?? '0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
  return applyConventions(SwaggerModule.createDocument(app, config, { extraModels: [ProblemView] }));
}

/** The OpenAPI document at /docs-json (and /docs-yaml), and the Swagger UI at /docs. */
export function serveOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, createOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    customSiteTitle: 'Voice interview API',
  });
}
