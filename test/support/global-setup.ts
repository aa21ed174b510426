import type { TestProject } from 'vitest/node';

/**
 * The suite always runs against a real MongoDB-compatible server. With MONGODB_URI set (CI starts
 * FerretDB) every test file gets its own database on it; without, a real mongod is started through
 * mongodb-memory-server (it downloads one on a normal developer machine).
 */
export default async function setup(_project: TestProject) {
  if (process.env.MONGODB_URI) return;
  const { MongoMemoryServer } = await import('mongodb-memory-server-core');
  let server;
  try {
    server = await MongoMemoryServer.create();
  } catch (error) {
    throw new Error(
      `MONGODB_URI is not set and mongodb-memory-server could not start a mongod (${(error as Error).message.split('\n')[0]}); ` +
        'point MONGODB_URI at a MongoDB-compatible server (see .ci/run for FerretDB).',
      { cause: error },
    );
  }
  process.env.MONGODB_URI = server.getUri();
  return async () => {
    await server.stop();
  };
}
