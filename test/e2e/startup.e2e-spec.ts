import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const MAIN = resolve(import.meta.dirname, '../../dist/main.js');

// Not on the e2e fixture: these servers must stop at start-up, with no database, provider or test
// settings, and what they print is the result; AppProcess would wait for one that listens.
function run(
  env: Record<string, string>,
  cwd = process.cwd(),
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [MAIN], {
      cwd,
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

describe('start-up configuration', () => {
  const base = { MONGODB_URI: 'mongodb://127.0.0.1:9/unused', JWT_SECRET: 'a-long-enough-test-secret' };

  it.each([
    [{ PORT: 'eighty' }, 'Invalid configuration: PORT must be an integer from 0 to 65535.'],
    [
      { TRANSCRIPTION_CONCURRENCY: '0' },
      'Invalid configuration: TRANSCRIPTION_CONCURRENCY must be an integer from 1 to 64.',
    ],
    [
      { TRANSCRIPTION_MAX_ATTEMPTS: '2.5' },
      'Invalid configuration: TRANSCRIPTION_MAX_ATTEMPTS must be an integer from 1 to 20.',
    ],
    [
      { MAX_UPLOAD_BYTES: '-1' },
      'Invalid configuration: MAX_UPLOAD_BYTES must be an integer from 1024 to 17179869184 (16 GiB).',
    ],
    [
      { MONGODB_URI: 'localhost:27017' },
      'Invalid configuration: MONGODB_URI must start with mongodb:// or mongodb+srv://.',
    ],
    [
      { OPENAI_BASE_URL: 'not a url' },
      'Invalid configuration: OPENAI_BASE_URL must be an http(s) URL, e.g. https://api.openai.com/v1.',
    ],
    [{ JWT_SECRET: 'short' }, 'Invalid configuration: JWT_SECRET must be at least 16 characters long.'],
    [{ ROLE: 'both' }, 'Invalid configuration: ROLE must be api, worker or all.'],
    [{ LOG_LEVEL: 'verbose' }, 'Invalid configuration: LOG_LEVEL must be fatal, error, warn, info, debug or trace.'],
    [{ WEBHOOK_ALLOW_HTTP: 'yes' }, 'Invalid configuration: WEBHOOK_ALLOW_HTTP must be true or false.'],
    [
      { WEBHOOK_SECRET: 'a-plain-secret-of-the-old-kind' },
      'Invalid configuration: WEBHOOK_SECRET must be one or more secrets of the form whsec_<base64 of 24 to 64 random bytes>, separated by spaces (make one with: echo "whsec_$(openssl rand -base64 32)").',
    ],
    [
      { NODE_ENV: 'production', JWT_SECRET: '' },
      'Invalid configuration: JWT_SECRET must be set when NODE_ENV=production.',
    ],
  ])('stops on %j with one line naming the variable', async (env, line) => {
    const result = await run({ ...base, ...env });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(line + '\n');
  });

  it('without MONGODB_URI, says first that it starts an embedded MongoDB, and stops with one line when it cannot', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'vi-embedded-'));
    const result = await run(
      {
        JWT_SECRET: base.JWT_SECRET,
        // make the mongod download fail the same way on every machine
        MONGOMS_DOWNLOAD_URL: 'http://127.0.0.1:9/mongodb.tgz',
        MONGOMS_DOWNLOAD_DIR: join(cwd, 'binaries'),
        MONGOMS_PREFER_GLOBAL_PATH: '0',
      },
      cwd,
    );
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n')[0]).toContain(
      'MONGODB_URI is not set: starting an embedded MongoDB with its data in .data/mongodb',
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      /^MONGODB_URI is not set and the embedded MongoDB could not be downloaded or started \(.+\); set MONGODB_URI to a MongoDB server/,
    );
  });
});
