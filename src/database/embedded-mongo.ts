import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';

/** The short reason an embedded start failed, e.g. "getaddrinfo ENOTFOUND fastdl.mongodb.org". */
export function embeddedFailureReason(error: unknown): string {
  const detail = (error as { msg?: unknown })?.msg;
  const text = typeof detail === 'string' ? detail : error instanceof Error ? error.message : String(error);
  return text.split('\n')[0].slice(0, 200);
}

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
  // The library prints a multi-line report of its own on failure; the caller reports it in one line.
  const warn = console.warn;
  console.warn = () => undefined;
  let server;
  try {
    server = await MongoMemoryServer.create({
      instance: { dbPath, storageEngine: 'wiredTiger', port: 27027 },
    });
  } finally {
    console.warn = warn;
  }
  return {
    uri: server.getUri('voice_interviews'),
    stop: async () => {
      await server.stop({ doCleanup: false });
    },
  };
}
