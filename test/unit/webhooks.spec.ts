import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { webhookRetryDelayMs } from '../../src/webhooks/webhook-dispatcher.js';
import { signWebhook } from '../../src/webhooks/webhook-sender.js';
import { isNonPublicAddress } from '../../src/webhooks/webhook-url-policy.js';

describe('isNonPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.0.0.1',
    '172.16.5.4',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fd00:ec2::254',
    'fc00::1',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    'not-an-address',
  ])('refuses %s', (address) => {
    expect(isNonPublicAddress(address)).toBe(true);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '192.169.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'allows %s',
    (address) => {
      expect(isNonPublicAddress(address)).toBe(false);
    },
  );
});

describe('webhookRetryDelayMs', () => {
  it('doubles from the base with ±20 % jitter, up to six hours', () => {
    for (let attempt = 1; attempt <= 6; attempt++) {
      const delay = webhookRetryDelayMs(attempt, 1000);
      expect(delay).toBeGreaterThanOrEqual(0.8 * 1000 * 2 ** (attempt - 1));
      expect(delay).toBeLessThanOrEqual(1.2 * 1000 * 2 ** (attempt - 1));
    }
    expect(webhookRetryDelayMs(40, 1000)).toBeLessThanOrEqual(1.2 * 6 * 3600 * 1000);
  });

  it('waits at least as long as the receiver asked with Retry-After', () => {
    expect(webhookRetryDelayMs(1, 100, 30)).toBe(30_000);
  });
});

describe('signWebhook', () => {
  it('is HMAC-SHA256 over "timestamp.body", hex, prefixed v1=', () => {
    const body = '{"id":"evt_1"}';
    const expected = createHmac('sha256', 'k'.repeat(16)).update(`1700000000.${body}`).digest('hex');
    expect(signWebhook('k'.repeat(16), 1700000000, body)).toBe(`v1=${expected}`);
  });
});
