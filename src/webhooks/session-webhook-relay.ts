import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Types } from 'mongoose';
import { webhookSettings, type WebhookSettings } from '../config/settings.js';
import { Clock } from '../database/clock.js';
import { WebhookDeliveryStore } from './webhook-delivery.store.js';
import { WebhookOutbox } from './webhook-outbox.js';
import { SessionDocuments } from '../interview-record/session-documents.js';
import type { SessionRecord } from '../interview-record/session.schema.js';

type WithPending = Pick<SessionRecord, '_id' | 'rev' | 'status' | 'pending_webhooks'>;

/** Sessions looked at per sweep. */
const SWEEP_BATCH = 50;

/**
 * Moves the webhook events that a session update carried (pending_webhooks) into the delivery
 * outbox: at once after the update, and every WEBHOOK_POLL_MS for any that a crash or a failed
 * insert left behind. An event is taken off the session only once it is stored, so none is lost;
 * a second store of one id is a no-op, so none is doubled. An erased session's events are never
 * left behind: a store that raced the erasure is undone.
 */
@Injectable()
export class SessionWebhookRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionWebhookRelay.name);
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<unknown>;

  constructor(
    private readonly documents: SessionDocuments,
    private readonly outbox: WebhookOutbox,
    private readonly deliveries: WebhookDeliveryStore,
    private readonly clock: Clock,
    @Inject(webhookSettings.KEY) private readonly settings: WebhookSettings,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep(this.clock.now())
        .catch((error: Error) => this.logger.warn(`could not relay pending webhook events: ${error.message}`))
        .finally(() => (this.sweeping = undefined));
    }, this.settings.pollMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** After a write that may have carried events; never throws (the sweep tries again). */
  async relayAfterWrite(session: WithPending | null): Promise<void> {
    if (!session?.pending_webhooks || Object.keys(session.pending_webhooks).length === 0) return;
    await this.relay(session).catch((error: Error) =>
      this.logger.warn(
        `could not store the webhook events of session=${String(session._id)}: ${error.message}; they stay pending and are retried`,
      ),
    );
  }

  /** Relays every session with events pending since `now` or earlier. Returns how many events were stored. */
  async sweep(now: Date): Promise<number> {
    const sessions = await this.documents.model
      .find({ webhooks_due_at: { $lte: now } }, { rev: 1, status: 1, pending_webhooks: 1 })
      .limit(SWEEP_BATCH)
      .lean<WithPending[]>()
      .exec();
    let stored = 0;
    for (const session of sessions) stored += await this.relay(session);
    return stored;
  }

  private async relay(session: WithPending): Promise<number> {
    const pending = session.pending_webhooks ?? {};
    const ids = Object.keys(pending);
    if (session.status !== 'erasing' && ids.length > 0) {
      await this.outbox.store(session._id, pending);
      await this.undoIfErased(session._id);
    }
    // Nothing changed since the read: clear everything. Otherwise only what was stored: the
    // change may have added events, which the next sweep relays.
    const cleared = await this.documents.updateOne(
      session._id,
      { rev: session.rev },
      { $unset: { pending_webhooks: '', webhooks_due_at: '' } },
    );
    if (!cleared && ids.length > 0) {
      await this.documents.updateOne(
        session._id,
        {},
        { $unset: Object.fromEntries(ids.map((id) => [`pending_webhooks.${id}`, ''])) },
      );
    }
    return session.status === 'erasing' ? 0 : ids.length;
  }

  /**
   * The erasure deletes a session's deliveries after its document: a store that began before the
   * erasure and ended after that final delete sees the document gone (or erasing) here, and undoes
   * itself.
   */
  private async undoIfErased(sessionId: Types.ObjectId): Promise<void> {
    const still = await this.documents.model.findOne({ _id: sessionId }, { status: 1 }).lean<{ status: string }>();
    if (!still || still.status === 'erasing') await this.deliveries.deleteForSession(sessionId);
  }
}
