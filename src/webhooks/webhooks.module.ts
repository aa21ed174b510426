import { Module } from '@nestjs/common';
import { InterviewRecordModule } from '../interview-record/interview-record.module.js';
import { SessionWebhookRelay } from './session-webhook-relay.js';
import { WebhookDeliveryStore } from './webhook-delivery.store.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { WebhookOutbox } from './webhook-outbox.js';
import { WebhookSender } from './webhook-sender.js';
import { WebhookUrlPolicy } from './webhook-url-policy.js';

/**
 * Storing webhook events, relaying those that session writes carried, and checking webhook URLs:
 * needed wherever sessions change.
 */
@Module({
  imports: [InterviewRecordModule],
  providers: [WebhookDeliveryStore, WebhookOutbox, WebhookUrlPolicy, SessionWebhookRelay],
  exports: [WebhookDeliveryStore, WebhookOutbox, WebhookUrlPolicy, SessionWebhookRelay],
})
export class WebhookEventsModule {}

/** Sending them: on worker instances. */
@Module({
  imports: [WebhookEventsModule],
  providers: [WebhookSender, WebhookDispatcher],
})
export class WebhookDeliveryModule {}
