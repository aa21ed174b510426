import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export const DEV_SECRET_FILE = resolve('.data', 'dev-jwt-secret');

/**
 * Outside production, a missing JWT_SECRET is replaced by a random secret kept in .data/ so that
 * `npm run token` and the server agree and tokens survive restarts. Never used in production.
 */
export async function loadOrCreateDevJwtSecret(file = DEV_SECRET_FILE): Promise<string> {
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (existing.length >= 16) return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32).toString('base64url');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, secret + '\n', { mode: 0o600 });
  return secret;
}
