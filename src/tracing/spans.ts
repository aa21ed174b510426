import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';

const tracer = trace.getTracer('voice-interview-backend');

/**
 * Runs `work` in a new span, a child of the active one: ended when `work` settles, marked as an
 * error (with the exception recorded) when it throws. A no-op span when tracing is off.
 */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

export function startSpan(name: string, attributes: Attributes, kind: SpanKind, parent: Context): Span {
  return tracer.startSpan(name, { kind, attributes }, parent);
}

/**
 * The active trace context as a W3C traceparent, to store with work that outlives the request
 * (an uploaded answer's transcription); null when there is none (tracing off).
 */
export function currentTraceParent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/**
 * Runs `work` as part of the trace a stored traceparent names, or of no trace: never of whatever
 * request happened to set it off (an upload's event starts its job inside that request).
 */
export function inTrace<T>(traceparent: string | null | undefined, work: () => T): T {
  const stored = traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
  return context.with(stored, work);
}

/** Headers that carry the active trace to another service (the provider), W3C Trace Context. */
export function traceHeaders(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** The active span's ids for a log line, or nothing outside a trace. */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return {};
  const { traceId, spanId } = spanContext;
  return { trace_id: traceId, span_id: spanId };
}

export { SpanKind };
