import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';

export interface EmbeddedMongo {
  uri: string;
  stop(): Promise<void>;
}

/**
 * Starts a real mongod through mongodb-memory-server, keeping its data under ./.data/mongodb so
 * that a development server keeps its sessions across restarts. Only used when MONGODB_URI is unset.
 */
export async function startEmbeddedMongo(dataDir = resolve('.data')): Promise<EmbeddedMongo> {
  const dbPath = resolve(dataDir, 'mongodb');
  await mkdir(dbPath, { recursive: true });
  const { MongoMemoryServer } = await import('mongodb-memory-server-core');
  const server = await MongoMemoryServer.create({
    instance: { dbPath, storageEngine: 'wiredTiger', port: 27027 },
  });
  return {
    uri: server.getUri('voice_interviews'),
    stop: async () => {
      await server.stop({ doCleanup: false });
    },
  };
}
