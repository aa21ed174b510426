// `npm run dev`: the Nest server in watch mode with development sign-in, and the Vite dev server
// for web/ forwarding /api to it. Ctrl-C stops both; if either stops, so does the other.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const web = join(root, 'web');
const port = process.env.PORT ?? '3000';

if (!existsSync(join(web, 'node_modules'))) {
  console.log('installing the web app dependencies (web/node_modules is missing)');
  const install = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: web, stdio: 'inherit' });
  if (install.status !== 0) process.exit(install.status ?? 1);
}

const children = [
  spawn(join(root, 'node_modules/.bin/nest'), ['start', '--watch'], {
    cwd: root,
    stdio: 'inherit',
    env: { AUTH_DEV_LOGIN: 'true', ...process.env, PORT: port },
  }),
  spawn(join(web, 'node_modules/.bin/vite'), [], {
    cwd: web,
    stdio: 'inherit',
    env: { ...process.env, API_URL: `http://localhost:${port}` },
  }),
];

let stopping = false;
function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  process.exitCode = code;
}
for (const child of children) child.on('exit', (code) => stopAll(code ?? 0));
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
