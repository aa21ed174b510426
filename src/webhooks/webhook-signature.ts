import { createHmac } from 'node:crypto';

/**
 * The Standard Webhooks signature header: "v1,<base64 HMAC-SHA256 of `${id}.${timestamp}.${body}`>"
 * for each key, separated by spaces, so that a receiver holding either the new or the old secret
 * verifies a delivery during a rotation.
 */
export function standardWebhookSignature(keys: Buffer[], id: string, timestamp: number, body: string): string {
  return keys
    .map((key) => `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`)
    .join(' ');
}

/**
 * The signature of the earlier X-Webhook-* headers, sent only while WEBHOOK_LEGACY_SECRET asks for
 * them: "v1=<hex HMAC-SHA256 of `${timestamp}.${body}`>" with that secret's text as the key.
 */
export function legacyWebhookSignature(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}
