import { Inject, Injectable, Logger } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { webhookSettings, type WebhookSettings } from '../config/settings.js';
import { legacyWebhookSignature, standardWebhookSignature } from './webhook-signature.js';
import { WebhookAddressRefused, WebhookUrlPolicy } from './webhook-url-policy.js';

export interface SendResult {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** Seconds the receiver asked us to wait (Retry-After on 429/503). */
  retryAfterS?: number;
}

/**
 * What an attempt's error says in the session's delivery log, which its owner reads: the kind of
 * failure, never an address a host name resolved to or a library's own wording (that goes to logs).
 */
export function deliveryError(error: unknown): string {
  if (error instanceof WebhookAddressRefused) return 'refused: the host is not a public address';
  const code = (error as NodeJS.ErrnoException)?.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME')
    return 'the host name could not be resolved';
  if (code === 'ECONNREFUSED') return 'the connection was refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'the connection was reset';
  if (code === 'ETIMEDOUT' || code === 'ECONNABORTED') return 'the connection timed out';
  if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED)/.test(code)) return 'the TLS handshake failed';
  if (error instanceof ResponseTimeout) return error.message;
  return 'the request failed';
}

class ResponseTimeout extends Error {}

/** Responses are read only this far: a receiver has no business sending us megabytes. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs one event, signed per the Standard Webhooks specification (webhook-id, webhook-timestamp,
 * webhook-signature over `${id}.${timestamp}.${body}`): binding the id and the time lets receivers
 * refuse replays without trusting an unsigned header. The only place webhook HTTP happens.
 */
@Injectable()
export class WebhookSender {
  private readonly logger = new Logger(WebhookSender.name);
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

  /** The safe sentence for the delivery log; the library's own text to the server's log. */
  private failed(target: URL, error: unknown): string {
    this.logger.log(`webhook POST to ${target.host} failed: ${(error as Error)?.message ?? String(error)}`);
    return deliveryError(error);
  }

  async send(url: string, id: string, event: string, body: string): Promise<SendResult> {
    const started = Date.now();
    const target = new URL(url);
    try {
      await this.policy.assertDeliverable(target.hostname);
    } catch (error) {
      return { statusCode: null, error: this.failed(target, error), durationMs: Date.now() - started };
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
        req.destroy(new ResponseTimeout(`no response within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      req.on('error', (error) => finish({ statusCode: null, error: this.failed(target, error) }));
      req.end(body);
    });
  }
}
