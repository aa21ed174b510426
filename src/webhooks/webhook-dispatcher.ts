import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { PinoLogger } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { backoffMs } from '../common/backoff.js';
import { webhookSettings, type WebhookSettings } from '../config/settings.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import { WEBHOOK_ENQUEUED } from './webhook-outbox.js';
import { WebhookDeliveryStore, type WebhookDelivery } from './webhook-delivery.store.js';
import { WebhookSender, type SendResult } from './webhook-sender.js';

const BATCH = 50;
/** Deliveries in flight per instance: receivers are other people's servers, be gentle. */
const PARALLEL = 4;
const MAX_BACKOFF_MS = 6 * 60 * 60 * 1000;

/** Attempt n (1-based) failed: wait base·2^(n-1), ±20 % jitter, at most six hours (or what Retry-After asks). */
export function webhookRetryDelayMs(attempt: number, baseMs: number, retryAfterS?: number): number {
  const asked = retryAfterS === undefined ? 0 : Math.min(MAX_BACKOFF_MS, retryAfterS * 1000);
  return backoffMs(attempt, { baseMs, maxMs: MAX_BACKOFF_MS, jitter: [0.8, 1.2] }, asked);
}

/**
 * Delivers stored webhook events: on a nudge, and every WEBHOOK_POLL_MS for retries, for events
 * stored by other instances and for claims whose holder died. A delivery is claimed (with a lease)
 * before each attempt, so several workers never send one attempt twice; every attempt is recorded.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly leaseMs: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopping = false;

  constructor(
    private readonly deliveries: WebhookDeliveryStore,
    private readonly sender: WebhookSender,
    private readonly metrics: ServiceMetrics,
    private readonly log: PinoLogger,
    @Inject(webhookSettings.KEY) private readonly settings: WebhookSettings,
  ) {
    this.leaseMs = settings.timeoutMs + 30_000;
  }

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.running;
  }

  @OnEvent(WEBHOOK_ENQUEUED)
  nudge(): void {
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopping) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      // its own logging context, not that of the request or job whose event nudged it
      this.running = this.log
        .runInContext(() => this.drain())
        .finally(() => {
          this.running = undefined;
          if (this.again) {
            this.again = false;
            this.schedule(0);
          } else {
            this.schedule(this.settings.pollMs);
          }
        });
    }, delayMs);
  }

  /** Sends everything due now, PARALLEL at a time. */
  private async drain(): Promise<void> {
    let due: Pick<WebhookDelivery, '_id'>[];
    try {
      due = await this.deliveries.findDue(new Date(), BATCH);
    } catch (error) {
      this.logger.warn(`could not look for webhook deliveries: ${(error as Error).message}`);
      return;
    }
    const queue = [...due];
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        for (let next = queue.shift(); next && !this.stopping; next = queue.shift()) {
          await this.attempt(next._id).catch((error: Error) =>
            this.logger.warn(`webhook delivery ${next._id} could not be attempted: ${error.message}`),
          );
        }
      }),
    );
    if (due.length === BATCH) this.again = true;
  }

  private async attempt(id: string): Promise<void> {
    const claimId = randomUUID();
    const now = new Date();
    const delivery = await this.deliveries.claim(id, claimId, new Date(now.getTime() + this.leaseMs), now);
    if (!delivery) return;
    const result = await this.sender.send(delivery.url, delivery._id, delivery.event, delivery.body);
    const attempt = {
      at: now,
      status_code: result.statusCode,
      error: result.error,
      duration_ms: result.durationMs,
    };
    const number = delivery.attempts.length + 1;
    if (!result.error) {
      await this.deliveries.settle(id, claimId, attempt, {
        status: 'delivered',
        next_attempt_at: null,
        delivered_at: new Date(),
      });
      this.metrics.webhookDeliveries.inc({ outcome: 'delivered' });
      this.logger.log(`webhook ${delivery.event} ${id} delivered (HTTP ${result.statusCode}, attempt ${number})`);
      return;
    }
    if (number > this.settings.maxRetries) {
      await this.deliveries.settle(id, claimId, attempt, { status: 'failed', next_attempt_at: null });
      this.metrics.webhookDeliveries.inc({ outcome: 'failed' });
      this.logger.warn(`webhook ${delivery.event} ${id} given up after ${number} attempts: ${result.error}`);
      return;
    }
    const delay = webhookRetryDelayMs(number, this.settings.retryBaseMs, retryAfterOf(result));
    await this.deliveries.settle(id, claimId, attempt, {
      status: 'pending',
      next_attempt_at: new Date(Date.now() + delay),
    });
    this.metrics.webhookDeliveries.inc({ outcome: 'retry' });
    this.logger.warn(
      `webhook ${delivery.event} ${id} attempt ${number} failed (${result.error}); retry in ${delay} ms`,
    );
  }
}

function retryAfterOf(result: SendResult): number | undefined {
  return result.statusCode === 429 || result.statusCode === 503 ? result.retryAfterS : undefined;
}
