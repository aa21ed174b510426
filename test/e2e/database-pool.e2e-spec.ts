import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, tokenFor } from '../support/api.js';
import { AppProcess } from '../support/app-process.js';
import { wavTone } from '../support/audio.js';
import { FakeOpenAI } from '../support/fake-openai.js';
import { ferretdbBinary, ferretHandler } from '../support/ferretdb.js';
import { PrivateDatabase } from '../support/private-database.js';

/**
 * FerretDB 1.24 on PostgreSQL takes two of its PostgreSQL connections for every update and
 * findAndModify (it begins the write's transaction while the query's connection is still held).
 * When as many run at once as its pool has connections, each holds one and waits for a second, and
 * that FerretDB answers nothing more. The service keeps at most MONGODB_MAX_POOL_SIZE commands in
 * flight, so a FerretDB whose pool holds twice that never fills with such halves, however many
 * requests arrive: here 60 users upload at the same moment (each upload updates its user lease and
 * its session) through 5 connections into a FerretDB with a pool of 10 (the defaults are 10 and 50).
 */
const FERRET_POOL = 10;
const SERVER_POOL = 5;
const USERS = 60;
const DEADLINE_MS = 30_000;
const onPostgres = Boolean(ferretdbBinary()) && ferretHandler() === 'postgresql';

// Not on the e2e fixture: it runs a FerretDB of its own with a small pool (on PostgreSQL only) and
// must kill the server before that FerretDB closes, which the fixture's shared database does not need.
let database: PrivateDatabase;
let fake: FakeOpenAI;
let app: AppProcess;

beforeAll(async () => {
  if (!onPostgres) return;
  database = await PrivateDatabase.start({ postgresPoolSize: FERRET_POOL });
  fake = await FakeOpenAI.start();
  app = await AppProcess.start({
    mongodbUri: database.uri,
    openaiUrl: fake.url,
    env: { MONGODB_MAX_POOL_SIZE: String(SERVER_POOL) },
  });
});
afterAll(async () => {
  // a stalled FerretDB stays stalled: killing it (close) is what ends the test's connections
  await app?.kill();
  await fake?.close();
  await database?.close();
});

describe.skipIf(!onPostgres)('the database connection pool on FerretDB with PostgreSQL', () => {
  it(
    `acknowledges ${USERS} uploads sent at the same moment into a FerretDB whose pool holds ${FERRET_POOL} connections`,
    { timeout: 90_000 },
    async () => {
      const users = Array.from({ length: USERS }, (_, i) => new ApiClient(app.url, tokenFor(`pool-${i}`)));
      const sessions = await Promise.all(users.map((api) => api.newSession(['q1'])));
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), DEADLINE_MS)));
      const outcome = await Promise.race([
        Promise.all(users.map((api, i) => api.upload(sessions[i], 'q1', wavTone(0.3, 300 + i), { filename: 'a.wav' }))),
        stalled,
      ]).finally(() => clearTimeout(timer));
      expect(
        outcome,
        `the uploads were not all answered within ${DEADLINE_MS / 1000} s: the database stalled`,
      ).not.toBe('stalled');
      const statuses = (outcome as { status: number }[]).map((res) => res.status);
      expect(statuses).toEqual(Array(USERS).fill(202));
      // the database still answers: every answer is on its session
      const reads = await Promise.all(users.map((api, i) => api.sessionStatus(sessions[i])));
      expect(reads.map((res) => [res.status, res.body.answers.length])).toEqual(Array(USERS).fill([200, 1]));
    },
  );
});
