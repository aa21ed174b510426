import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * FerretDB's storage: PostgreSQL (what FerretDB's users deploy, and the default here) or SQLite
 * (a single writer, which finds other races). FERRETDB_HANDLER picks one, for the whole CI run and
 * for every FerretDB a test or the bench starts of its own.
 */
export type FerretHandler = 'postgresql' | 'sqlite';

export function ferretHandler(): FerretHandler {
  const handler = process.env.FERRETDB_HANDLER ?? 'postgresql';
  if (handler !== 'postgresql' && handler !== 'sqlite') {
    throw new Error(`FERRETDB_HANDLER must be postgresql or sqlite, not "${handler}"`);
  }
  return handler;
}

/** FERRETDB_BIN (as .ci/run sets it), else a binary .ci/ferretdb.sh built; undefined when neither exists. */
export function ferretdbBinary(): string | undefined {
  if (process.env.FERRETDB_BIN) return process.env.FERRETDB_BIN;
  return ['ferretdb-v1.24.2', 'ferretdb-v1.24.1']
    .map((name) => join(homedir(), 'go/bin', name))
    .find((path) => existsSync(path));
}

/**
 * The PostgreSQL server FerretDB stores into: FERRETDB_POSTGRESQL_URL names a database on it that
 * can create others (default: the local server's `postgres` database as user postgres, trust auth).
 */
function postgresServerUrl(): URL {
  return new URL(process.env.FERRETDB_POSTGRESQL_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
}

async function psql(sql: string): Promise<void> {
  try {
    await run('psql', [postgresServerUrl().toString(), '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { timeout: 60_000 });
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    throw new Error(`psql could not run "${sql}" on ${postgresServerUrl().host}: ${detail}`, { cause: error });
  }
}

/** A PostgreSQL database made for one FerretDB, dropped with it. */
export class PostgresDatabase {
  private constructor(readonly name: string) {}

  /** Names start with FERRETDB_PG_PREFIX when set, so that .ci/run can drop what a killed run left. */
  static async create(): Promise<PostgresDatabase> {
    const prefix = (process.env.FERRETDB_PG_PREFIX ?? 'vi_test').replace(/\W/g, '_');
    const db = new PostgresDatabase(`${prefix}_${randomBytes(5).toString('hex')}`);
    await psql(`CREATE DATABASE ${db.name}`);
    return db;
  }

  get url(): string {
    const url = postgresServerUrl();
    url.pathname = `/${this.name}`;
    return url.toString();
  }

  async drop(): Promise<void> {
    await psql(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
  }
}

/** The project root: the nearest folder holding package.json (the bench runs this file compiled elsewhere). */
function projectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/**
 * Runs scripts/ferretdb-postgresql-indexes.sql (what docs/operations.md advises for production on FerretDB's
 * PostgreSQL backend) for MongoDB database `mongoDb` in the PostgreSQL database at `postgresUrl`.
 */
export async function addPostgresIndexes(postgresUrl: string, mongoDb: string): Promise<void> {
  const script = join(projectRoot(import.meta.dirname), 'scripts/ferretdb-postgresql-indexes.sql');
  await run('psql', [postgresUrl, '-q', '-v', `db=${mongoDb}`, '-f', script], { timeout: 600_000 });
}

/** FerretDB's command line for `handler`, listening on 127.0.0.1:`port`. */
export function ferretdbArgs(
  handler: FerretHandler,
  options: { port: number; stateDir: string; postgresUrl?: string; logLevel?: string },
): string[] {
  const storage =
    handler === 'postgresql'
      ? [`--postgresql-url=${options.postgresUrl}`]
      : // busy_timeout: SQLite waits for its write lock instead of failing at once with SQLITE_BUSY
        [`--sqlite-url=file:${options.stateDir}/?_pragma=busy_timeout(20000)`];
  return [
    `--handler=${handler}`,
    ...storage,
    `--state-dir=${options.stateDir}`,
    `--listen-addr=127.0.0.1:${options.port}`,
    '--debug-addr=-',
    '--telemetry=disable',
    `--log-level=${options.logLevel ?? 'error'}`,
  ];
}
