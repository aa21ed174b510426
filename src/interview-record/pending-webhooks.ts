/** The webhook events a session's changes can cause. */
export const WEBHOOK_EVENTS = ['transcriptions.completed', 'session.analyzed', 'transcription.failed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/**
 * An event not yet handed to the delivery outbox: written into the session document by the same
 * update as the change it reports (pending_webhooks.<id>), then relayed to webhook_deliveries.
 */
export interface PendingWebhook {
  event: WebhookEventType;
  url: string;
  /** The exact JSON that will be signed and sent. */
  body: string;
  created_at: Date;
}

/** Pending events by id, ready to $set as pending_webhooks.<id>. */
export type PendingWebhooks = Record<string, PendingWebhook>;

/**
 * The parts of an update that store `events` with the change that causes them: each under
 * pending_webhooks.<id>, and webhooks_due_at no later than `at` so that the relay's sweep finds them
 * should the relay after the write not happen.
 */
export function carryingEvents(
  events: PendingWebhooks,
  at: Date,
): { $set: Record<string, PendingWebhook>; $min: { webhooks_due_at?: Date } } {
  const entries = Object.entries(events);
  return {
    $set: Object.fromEntries(entries.map(([id, event]) => [`pending_webhooks.${id}`, event])),
    $min: entries.length > 0 ? { webhooks_due_at: at } : {},
  };
}
