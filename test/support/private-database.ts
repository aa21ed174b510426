import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ferretdbArgs, ferretdbBinary, ferretHandler, PostgresDatabase } from './ferretdb.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`database on port ${port} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A database server of the test's own, which the test can stop and start again on the same port
 * and data: FerretDB (FERRETDB_BIN, or what .ci/ferretdb.sh built) on the backend FERRETDB_HANDLER
 * names (PostgreSQL: a database of its own there, dropped by close()) or, on a developer machine
 * without FerretDB, a mongod from mongodb-memory-server.
 */
export class PrivateDatabase {
  uri = '';
  private proc?: ChildProcess;
  private memory?: import('mongodb-memory-server-core').MongoMemoryServer;
  private postgres?: PostgresDatabase;
  private constructor(
    private readonly port: number,
    private readonly dir: string,
    private readonly ferretdb?: string,
    private readonly postgresPoolSize?: number,
  ) {}

  /** `postgresPoolSize`: the PostgreSQL connections FerretDB may hold (its `pool_max_conns`, 50 unless set). */
  static async start(options: { postgresPoolSize?: number } = {}): Promise<PrivateDatabase> {
    const db = new PrivateDatabase(
      await freePort(),
      mkdtempSync(join(tmpdir(), 'vi-privdb-')),
      ferretdbBinary(),
      options.postgresPoolSize,
    );
    await db.up();
    db.uri = `mongodb://127.0.0.1:${db.port}/private_test`;
    return db;
  }

  /** FerretDB's PostgreSQL database, when it runs on PostgreSQL. */
  get postgresUrl(): string | undefined {
    return this.postgres?.url;
  }

  /** What runs underneath, for reports. */
  get description(): string {
    if (!this.ferretdb) return 'mongod (mongodb-memory-server)';
    return `FerretDB on ${ferretHandler() === 'postgresql' ? 'PostgreSQL' : 'SQLite'}`;
  }

  async up(): Promise<void> {
    if (this.ferretdb) {
      const handler = ferretHandler();
      if (handler === 'postgresql') this.postgres ??= await PostgresDatabase.create();
      const pool = this.postgresPoolSize ? `?pool_max_conns=${this.postgresPoolSize}` : '';
      const postgresUrl = this.postgres && this.postgres.url + pool;
      const args = ferretdbArgs(handler, { port: this.port, stateDir: this.dir, postgresUrl });
      this.proc = spawn(this.ferretdb, args, { stdio: 'ignore' });
      await waitForPort(this.port);
      return;
    }
    const { MongoMemoryServer } = await import('mongodb-memory-server-core');
    if (!this.memory) {
      this.memory = await MongoMemoryServer.create({
        instance: { port: this.port, dbPath: this.dir, storageEngine: 'wiredTiger' },
      });
    } else {
      await this.memory.start(true);
    }
  }

  /** Stops the server process; its data stays for `up()`. */
  async down(): Promise<void> {
    if (this.proc) {
      const exited = new Promise((r) => this.proc!.once('exit', r));
      this.proc.kill('SIGKILL');
      await exited;
      this.proc = undefined;
      return;
    }
    await this.memory?.stop({ doCleanup: false });
  }

  async close(): Promise<void> {
    await this.down();
    await this.memory?.stop({ doCleanup: true, force: true }).catch(() => undefined);
    await this.postgres?.drop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
