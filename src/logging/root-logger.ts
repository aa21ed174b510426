import { pino, type Logger } from 'pino';

let root: Logger | undefined;

/**
 * The one pino logger of the process: JSON lines on stdout, level names instead of numbers, ISO
 * times. Created on first use with LOG_LEVEL (validated before anything logs).
 */
export function rootLogger(): Logger {
  root ??= pino({
    level: process.env.LOG_LEVEL || 'info',
    base: { pid: process.pid, role: process.env.ROLE || 'all' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
  return root;
}
