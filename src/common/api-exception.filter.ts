import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { JsonBodyTooComplex } from './json-body-bounds.js';
import { PROBLEM_JSON, problemDetails } from './problem-details.js';
import { bodyStillArriving, discardBody } from './refused-body.js';

/** Driver and mongoose errors that mean "the database is not reachable right now". */
const UNAVAILABLE_ERRORS = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  // every pooled connection stayed busy past waitQueueTimeoutMS: overloaded, not broken
  'MongoWaitQueueTimeoutError',
  'DocumentLockTimeout',
]);

const UNAVAILABLE_MESSAGE =
  /buffering timed out|SQLITE_BUSY|database is locked|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|connection (\d+ to \S+ )?closed|Server selection timed out|Topology is closed|not primary|NotWritablePrimary/i;

/** True for errors (or errors wrapping errors) that mean "the database is not reachable now". */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 4) return false;
  if (UNAVAILABLE_ERRORS.has(error.name)) return true;
  // drivers wrap the network error (a bulk write, for one, reports it as its own error)
  if (error.name.startsWith('Mongo') && UNAVAILABLE_MESSAGE.test(error.message)) return true;
  if (UNAVAILABLE_MESSAGE.test(error.message) && /mongo/i.test(error.stack ?? '')) return true;
  return isDatabaseUnavailable((error as { cause?: unknown }).cause, depth + 1);
}

/** Express's body parser errors, which Nest wraps in HttpExceptions with their own wording. */
const BODY_PARSER_MESSAGES: Record<string, string> = {
  'entity.parse.failed': 'The request body is not valid JSON.',
  'entity.too.large': 'The request body is too large.',
  'encoding.unsupported': 'The request body has an unsupported character encoding.',
};

/** The parser's own sentence where it is ours to give (a body over the depth or entry bounds). */
function bodyParserMessage(cause: unknown): string | undefined {
  if (cause instanceof JsonBodyTooComplex) return cause.reason;
  return BODY_PARSER_MESSAGES[bodyParserType(cause)];
}

function bodyParserType(cause: unknown): string {
  return typeof (cause as { type?: unknown })?.type === 'string' ? (cause as { type: string }).type : '';
}

const httpErrorBody = (status: number, message: string, extensions?: Record<string, unknown>) =>
  problemDetails(status, message, extensions);

/** What an exception's response object adds to the problem (a `type`, members such as `failed`). */
function extensionsOf(exception: HttpException): Record<string, unknown> {
  const response = exception.getResponse();
  if (typeof response !== 'object' || response === null) return {};
  const { message: _m, error: _e, statusCode: _s, retryAfter: _r, ...extensions } = response as Record<string, unknown>;
  return extensions;
}

function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.map(String).join('; ');
  if (typeof message === 'string') return message;
  return exception.message;
}

/**
 * Shapes every error as an RFC 9457 problem (application/problem+json) whose `detail`, and
 * `message` as before, is a sentence a frontend developer can act on. Known infrastructure
 * failures become 503/409; anything else is a bug and is logged as one.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(ApiExceptionFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    const { status, body } = this.describe(exception);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (exception instanceof HttpException) {
      const retryAfter = (exception.getResponse() as { retryAfter?: number }).retryAfter;
      if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
    }
    const send = () => res.status(status).type(PROBLEM_JSON).json(body);
    // refused while the body is still coming (an upload over the limit, say): answered once the
    // client has sent it, which it must before it reads an answer (refused-body.ts)
    if (!req || !bodyStillArriving(req)) return void send();
    void discardBody(req).then((ended) => {
      if (res.headersSent || res.destroyed) return;
      if (!ended) res.setHeader('Connection', 'close');
      send();
    });
  }

  private describe(exception: unknown): { status: number; body: ReturnType<typeof httpErrorBody> } {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      return {
        status,
        body: httpErrorBody(
          status,
          bodyParserMessage(exception.cause) ?? messageOf(exception),
          extensionsOf(exception),
        ),
      };
    }
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn(`database unavailable: ${(exception as Error).message}`);
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        body: httpErrorBody(503, 'The database is temporarily unavailable; retry in a few seconds.'),
      };
    }
    const bodyParserError = exception as { status?: number; message?: string };
    if (typeof bodyParserError?.status === 'number' && bodyParserError.status >= 400 && bodyParserError.status < 500) {
      return {
        status: bodyParserError.status,
        body: httpErrorBody(bodyParserError.status, bodyParserError.message ?? 'Bad request.'),
      };
    }
    if ((exception as { code?: number })?.code === 11000) {
      return {
        status: 409,
        body: httpErrorBody(409, 'A conflicting write happened at the same time; retry the request.'),
      };
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    return { status: 500, body: httpErrorBody(500, 'Internal server error.') };
  }
}
