import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { afterEach, describe, expect, it } from 'vitest';
import { freshDatabaseUri } from '../support/database.js';
import { startMedium, type MediumApp } from '../support/medium.js';

/** How many connections (so commands in flight) the service opens: MONGODB_MAX_POOL_SIZE, unless the URI says. */
let app: MediumApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function poolSizeWith(env: Record<string, string>): Promise<number | undefined> {
  delete process.env.MONGODB_MAX_POOL_SIZE; // startMedium adds to the environment; an earlier case set it
  app = await startMedium('pool', { env });
  const connection = app.module.get<Connection>(getConnectionToken(), { strict: false });
  return connection.getClient().options.maxPoolSize;
}

describe('the database connection pool', () => {
  it('holds 10 connections unless told otherwise', async () => {
    expect(await poolSizeWith({})).toBe(10);
  });

  it('holds MONGODB_MAX_POOL_SIZE connections', async () => {
    expect(await poolSizeWith({ MONGODB_MAX_POOL_SIZE: '3' })).toBe(3);
  });

  it("leaves a maxPoolSize given in MONGODB_URI alone: the operator's choice there wins", async () => {
    const uri = new URL(freshDatabaseUri('pool-uri'));
    uri.searchParams.set('maxPoolSize', '7');
    expect(await poolSizeWith({ MONGODB_URI: uri.toString(), MONGODB_MAX_POOL_SIZE: '3' })).toBe(7);
  });
});
