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

export interface TestDatabase {
  uri: string;
  db: Db;
  client: MongoClient;
  drop(): Promise<void>;
}

export async function openTestDatabase(label: string): Promise<TestDatabase> {
  const uri = freshDatabaseUri(label);
  const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 10_000 });
  const db = client.db();
  return {
    uri,
    db,
    client,
    drop: async () => {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
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
