import { Inject, Injectable } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { webhookSettings, type WebhookSettings } from '../config/settings.js';
import { legacyWebhookSignature, standardWebhookSignature } from './webhook-signature.js';
import { WebhookUrlPolicy } from './webhook-url-policy.js';

export interface SendResult {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** Seconds the receiver asked us to wait (Retry-After on 429/503). */
  retryAfterS?: number;
}

/** Responses are read only this far: a receiver has no business sending us megabytes. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs one event, signed per the Standard Webhooks specification (webhook-id, webhook-timestamp,
 * webhook-signature over `${id}.${timestamp}.${body}`): binding the id and the time lets receivers
 * refuse replays without trusting an unsigned header. The only place webhook HTTP happens.
 */
@Injectable()
export class WebhookSender {
  private readonly keys: Buffer[];
  private readonly legacySecret?: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly policy: WebhookUrlPolicy,
    @Inject(webhookSettings.KEY) settings: WebhookSettings,
  ) {
    this.keys = settings.signingKeys;
    this.legacySecret = settings.legacySecret;
    this.timeoutMs = settings.timeoutMs;
  }

  /** The headers of one attempt: each attempt is signed anew, with its own timestamp. */
  private signedHeaders(id: string, event: string, timestamp: number, body: string): Record<string, string> {
    return {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': standardWebhookSignature(this.keys, id, timestamp, body),
      ...(this.legacySecret
        ? {
            'x-webhook-id': id,
            'x-webhook-event': event,
            'x-webhook-timestamp': String(timestamp),
            'x-webhook-signature': legacyWebhookSignature(this.legacySecret, timestamp, body),
          }
        : {}),
    };
  }

  async send(url: string, id: string, event: string, body: string): Promise<SendResult> {
    const started = Date.now();
    const target = new URL(url);
    try {
      await this.policy.assertDeliverable(target.hostname);
    } catch (error) {
      return { statusCode: null, error: (error as Error).message, durationMs: Date.now() - started };
    }
    return this.post(target, id, event, body, started);
  }

  private post(target: URL, id: string, event: string, body: string, started: number): Promise<SendResult> {
    const timestamp = Math.floor(started / 1000);
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: Omit<SendResult, 'durationMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...result, durationMs: Date.now() - started });
      };
      const req = request(
        target,
        {
          method: 'POST',
          // every connection's address is checked here, after DNS, whatever it resolved to before
          lookup: this.policy.lookup,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'user-agent': 'voice-interview-webhooks/1',
            ...this.signedHeaders(id, event, timestamp, body),
          },
          agent: false,
        },
        (res) => {
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read > MAX_RESPONSE_BYTES) res.destroy();
          });
          res.on('close', () => {
            const status = res.statusCode ?? null;
            const retryAfter = Number(res.headers['retry-after']);
            finish({
              statusCode: status,
              error: status !== null && status >= 200 && status < 300 ? null : `HTTP ${status}`,
              ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterS: retryAfter } : {}),
            });
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy(new Error(`no response within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      req.on('error', (error) => finish({ statusCode: null, error: error.message }));
      req.end(body);
    });
  }
}
