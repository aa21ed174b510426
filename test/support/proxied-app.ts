import { afterAll, beforeAll, beforeEach } from 'vitest';
import { AppProcess } from './app-process.js';
import { DatabaseProxy } from './database-proxy.js';
import { openTestDatabase, type TestDatabase } from './database.js';
import { FakeOpenAI } from './fake-openai.js';

export interface ProxiedApp {
  readonly db: TestDatabase;
  readonly proxy: DatabaseProxy;
  readonly fake: FakeOpenAI;
  readonly app: AppProcess;
}

/**
 * A test file's built server whose database commands cross a DatabaseProxy (faults injected on the
 * wire), with a database and a fake provider of its own: started before the file's tests, stopped
 * after them; before each test the proxy's record and faults and the fake's scripts are cleared.
 */
export function useProxiedApp(label: string, env: Record<string, string>): ProxiedApp {
  let parts: Partial<ProxiedApp> = {};
  beforeAll(async () => {
    const db = await openTestDatabase(label);
    const proxy = await DatabaseProxy.start(db.uri);
    const fake = await FakeOpenAI.start();
    const app = await AppProcess.start({ mongodbUri: proxy.uri, openaiUrl: fake.url, env });
    parts = { db, proxy, fake, app };
  });
  afterAll(async () => {
    await parts.app?.stop('SIGKILL');
    await parts.proxy?.close();
    await parts.fake?.close();
    await parts.db?.drop();
  });
  beforeEach(() => {
    parts.proxy?.clear();
    parts.fake?.reset();
  });
  const part = <K extends keyof ProxiedApp>(key: K): ProxiedApp[K] => {
    const value = parts[key];
    if (!value) throw new Error(`${key} is used before the file's beforeAll started it`);
    return value;
  };
  return {
    get db() {
      return part('db');
    },
    get proxy() {
      return part('proxy');
    },
    get fake() {
      return part('fake');
    },
    get app() {
      return part('app');
    },
  };
}
