import type { Db, IndexDescription } from 'mongodb';

const NAMESPACE_EXISTS = 48;

/**
 * Creates a collection and its indexes if they are missing. Every collection the service writes is
 * made this way at start-up, never by a first write under load: FerretDB 1.24 on PostgreSQL hangs
 * for good when a collection or index is created while about 50 findAndModify calls are in flight
 * (the metadata lock waits for a connection that those calls hold while they wait for the lock).
 */
export async function ensureCollection(db: Db, name: string, indexes: IndexDescription[] = []): Promise<void> {
  await db.createCollection(name).catch((error: { code?: number }) => {
    if (error.code !== NAMESPACE_EXISTS) throw error;
  });
  if (indexes.length > 0) await db.collection(name).createIndexes(indexes);
}
