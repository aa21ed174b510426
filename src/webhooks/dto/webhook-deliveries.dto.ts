export class WebhookAttemptView {
  at: string;
  /** The receiver's HTTP status; null when it never answered. */
  status_code: number | null;
  /** Why the attempt failed; null when it succeeded. */
  error: string | null;
  duration_ms: number;
}

export class WebhookDeliveryView {
  /** The event id, also sent as the webhook-id header. */
  id: string;
  event: 'transcriptions.completed' | 'session.analyzed' | 'transcription.failed';
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  created_at: string;
  delivered_at: string | null;
  next_attempt_at: string | null;
  attempts: WebhookAttemptView[];
}

export class WebhookDeliveriesView {
  deliveries: WebhookDeliveryView[];
}
