import { MongoNetworkError } from 'mongodb';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/common/api-exception.filter.js';

// the driver throws it from its pool but does not export it
const { WaitQueueTimeoutError } = createRequire(import.meta.url)('mongodb/lib/cmap/errors.js') as {
  WaitQueueTimeoutError: new (message: string, address: string) => Error;
};

describe('isDatabaseUnavailable (a 503 to retry, never a 500)', () => {
  it('a pool whose every connection stayed busy past waitQueueTimeoutMS is unavailable for now', () => {
    const error = new WaitQueueTimeoutError(
      'Timed out while checking out a connection from connection pool',
      '127.0.0.1:27017',
    );
    expect(error.name).toBe('MongoWaitQueueTimeoutError');
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('a network error, also when wrapped as the cause of another error', () => {
    expect(isDatabaseUnavailable(new MongoNetworkError('connection 3 to 127.0.0.1:27017 closed'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('write failed', { cause: new MongoNetworkError('reset') }))).toBe(true);
  });

  it('a programming error is not (it stays a 500 and is logged as a bug)', () => {
    expect(isDatabaseUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isDatabaseUnavailable('not an error')).toBe(false);
  });
});
