import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it, vi } from 'vitest';
import { webhookSigningKeys } from '../../src/config/webhook-secrets.js';
import { webhookRetryDelayMs } from '../../src/webhooks/webhook-dispatcher.js';
import { legacyWebhookSignature, standardWebhookSignature } from '../../src/webhooks/webhook-signature.js';
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

describe('Standard Webhooks signatures', () => {
  const id = 'evt_1';
  const body = '{"id":"evt_1","type":"session.analyzed"}';
  const timestamp = 1_700_000_000;
  const secrets = [randomBytes(32), randomBytes(24)].map((key) => `whsec_${key.toString('base64')}`);

  it('signs "id.timestamp.body" exactly as the standardwebhooks package does', () => {
    const keys = webhookSigningKeys(secrets[0])!;
    expect(standardWebhookSignature(keys, id, timestamp, body)).toBe(
      new Webhook(secrets[0]).sign(id, new Date(timestamp * 1000), body),
    );
  });

  it('signs with every listed secret during a rotation, each verifiable on its own', () => {
    const keys = webhookSigningKeys(`${secrets[0]} ${secrets[1]}`)!;
    const header = standardWebhookSignature(keys, id, timestamp, body);
    expect(header.split(' ')).toHaveLength(2);
    vi.useFakeTimers({ now: timestamp * 1000 });
    try {
      const headers = { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': header };
      for (const secret of secrets) expect(new Webhook(secret).verify(body, headers)).toMatchObject({ id });
      const stranger = `whsec_${randomBytes(32).toString('base64')}`;
      expect(() => new Webhook(stranger).verify(body, headers)).toThrow('No matching signature found');
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([
    ['', undefined],
    ['not-a-whsec-secret-at-all', undefined],
    [`whsec_${randomBytes(16).toString('base64')}`, undefined], // too short a key
    [`whsec_${randomBytes(65).toString('base64')}`, undefined], // too long
    [`whsec_${randomBytes(32).toString('base64')} plain-text`, undefined],
  ])('refuses WEBHOOK_SECRET=%s', (raw, keys) => {
    expect(webhookSigningKeys(raw)).toBe(keys);
  });

  it('keeps the earlier signature for the legacy headers: HMAC-SHA256 of "timestamp.body", hex, v1=', () => {
    const expected = createHmac('sha256', 'k'.repeat(16)).update(`${timestamp}.${body}`).digest('hex');
    expect(legacyWebhookSignature('k'.repeat(16), timestamp, body)).toBe(`v1=${expected}`);
  });
});
