import { MongoClient, ObjectId, type Db } from 'mongodb';
import { randomBytes } from 'node:crypto';

/** A MongoDB URI for a fresh database of its own on the test server. */
export function freshDatabaseUri(label: string): string {
  const base = process.env.MONGODB_URI;
  if (!base) throw new Error('MONGODB_URI is not set; the global setup should have set it');
  const url = new URL(base);
  url.pathname = `/t_${label.replace(/\W/g, '_').slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  return url.toString();
}

/**
 * A database of its own on the test server. `openTestDatabase` gives an open one; made with `new`
 * it is opened later (`open()`), and it can be opened afresh after each `drop()`: a fixture hands
 * out one object that is a new database for every test.
 */
export class TestDatabase {
  uri = '';
  db!: Db;
  client!: MongoClient;

  constructor(readonly label: string) {}

  async open(): Promise<this> {
    this.uri = freshDatabaseUri(this.label);
    this.client = await MongoClient.connect(this.uri, { serverSelectionTimeoutMS: 10_000 });
    this.db = this.client.db();
    return this;
  }

  async drop(): Promise<void> {
    await this.db?.dropDatabase().catch(() => undefined);
    await this.client?.close();
  }
}

export function openTestDatabase(label: string): Promise<TestDatabase> {
  return new TestDatabase(label).open();
}

export async function gridfsCounts(db: Db): Promise<{ files: number; chunks: number }> {
  return {
    files: await db.collection('fs.files').countDocuments(),
    chunks: await db.collection('fs.chunks').countDocuments(),
  };
}

/** Retries an assertion until it passes or `timeoutMs` runs out (then its last failure is thrown). */
export async function eventually(assertion: () => Promise<void>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Waits until the server's last write to a session (the work-index refresh that follows a job) is
 * done, before a test writes to the document itself: FerretDB applies updates as read-then-write,
 * so a concurrent write from the server could otherwise undo the test's.
 */
export function sessionSettled(db: Db, sessionId: string): Promise<void> {
  return eventually(async () => {
    const doc = await db.collection('interview_sessions').findOne({ _id: new ObjectId(sessionId) });
    if (doc?.work_due_at !== undefined) throw new Error(`session ${sessionId} still has work due`);
  });
}
