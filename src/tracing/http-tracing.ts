import { context, propagation, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import { SpanKind, startSpan } from './spans.js';

/**
 * One SERVER span per HTTP request, continuing the caller's trace when it sends a W3C traceparent,
 * named by the route pattern once it is known ("POST /api/upload-answer/:sessionId/:questionId").
 * Everything the request does runs inside it, so its spans and log lines carry its trace id.
 */
export function traceRequests() {
  return (req: Request, res: Response, next: NextFunction): void => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = startSpan(
      req.method,
      { 'http.request.method': req.method, 'url.path': req.path, 'url.scheme': req.protocol },
      SpanKind.SERVER,
      parent,
    );
    res.once('close', () => {
      const pattern = (req.route as { path?: string } | undefined)?.path;
      if (pattern) {
        span.setAttribute('http.route', `${req.baseUrl}${pattern}`);
        span.updateName(`${req.method} ${req.baseUrl}${pattern}`);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}
