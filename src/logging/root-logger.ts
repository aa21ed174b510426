import { pino, type Logger } from 'pino';
import { traceFields } from '../tracing/spans.js';

let root: Logger | undefined;

/**
 * The one pino logger of the process: JSON lines on stdout, level names instead of numbers, ISO
 * times, and `trace_id`/`span_id` on every line logged inside a trace (a request, a transcription
 * job) when tracing is on. Created on first use with LOG_LEVEL (validated before anything logs).
 */
export function rootLogger(): Logger {
  root ??= pino({
    level: process.env.LOG_LEVEL || 'info',
    base: { pid: process.pid, role: process.env.ROLE || 'all' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: traceFields,
  });
  return root;
}
