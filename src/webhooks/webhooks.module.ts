import { Module } from '@nestjs/common';
import { WebhookDeliveryStore } from './webhook-delivery.store.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { WebhookOutbox } from './webhook-outbox.js';
import { WebhookSender } from './webhook-sender.js';
import { WebhookUrlPolicy } from './webhook-url-policy.js';

/** Storing webhook events and checking webhook URLs: needed wherever sessions change. */
@Module({
  providers: [WebhookDeliveryStore, WebhookOutbox, WebhookUrlPolicy],
  exports: [WebhookDeliveryStore, WebhookOutbox, WebhookUrlPolicy],
})
export class WebhookEventsModule {}

/** Sending them: on worker instances. */
@Module({
  imports: [WebhookEventsModule],
  providers: [WebhookSender, WebhookDispatcher],
})
export class WebhookDeliveryModule {}
