import type { WebhookDeliveriesView } from './dto/webhook-deliveries.dto.js';
import type { WebhookDelivery } from './webhook-delivery.store.js';

/** A session's stored webhook events with every delivery attempt, as the API shows them. */
export function webhookDeliveriesView(deliveries: WebhookDelivery[]): WebhookDeliveriesView {
  return {
    deliveries: deliveries.map((d) => ({
      id: d._id,
      event: d.event,
      url: d.url,
      status: d.status,
      created_at: d.created_at.toISOString(),
      delivered_at: d.delivered_at?.toISOString() ?? null,
      next_attempt_at: d.status === 'pending' ? (d.next_attempt_at?.toISOString() ?? null) : null,
      attempts: d.attempts.map((a) => ({
        at: a.at.toISOString(),
        status_code: a.status_code,
        error: a.error,
        duration_ms: a.duration_ms,
      })),
    })),
  };
}
