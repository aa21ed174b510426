import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const CLEANUP = resolve(import.meta.dirname, '../../dist/cleanup.js');

/** `npm run cleanup` as an operator runs it, against `mongodbUri`; returns what it printed. */
export async function cleanupOutput(
  mongodbUri: string,
  env: Record<string, string> = {},
  json = true,
): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLEANUP, ...(json ? ['--json'] : [])], {
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', MONGODB_URI: mongodbUri, ...env },
  });
  return stdout;
}

/** The report of one `npm run cleanup -- --json` run (its last output line). */
export async function runCleanup(mongodbUri: string, env: Record<string, string> = {}) {
  return JSON.parse((await cleanupOutput(mongodbUri, env)).trim().split('\n').at(-1)!);
}
