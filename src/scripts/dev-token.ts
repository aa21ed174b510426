import { signHs256Token } from '../auth/sign-hs256-token.js';
import { loadOrCreateDevJwtSecret } from '../config/dev-jwt-secret.js';

/**
 * Prints a bearer token for local development: `npm run token -- <user_id> [ttl_seconds]`.
 * Signs with JWT_SECRET, or with the development secret the server uses when it is unset.
 */
async function main(): Promise<void> {
  const [userId, ttl = '86400'] = process.argv.slice(2);
  if (!userId) {
    process.stderr.write('usage: npm run token -- <user_id> [ttl_seconds]\n');
    process.exit(1);
  }
  const secret = process.env.JWT_SECRET || (await loadOrCreateDevJwtSecret());
  process.stdout.write((await signHs256Token(userId, secret, Number(ttl))) + '\n');
}

void main();
