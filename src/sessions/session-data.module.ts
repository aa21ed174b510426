import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AudioStorageModule } from '../audio/audio-storage.module.js';
import { WebhookEventsModule } from '../webhooks/webhooks.module.js';
import { SessionChanges } from './session-changes.js';
import { SessionDocuments } from '../interview-record/session-documents.js';
import { SessionEraser } from './session-eraser.js';
import { SessionWebhookRelay } from '../webhooks/session-webhook-relay.js';
import { SessionRepository } from './session.repository.js';
import { InterviewSession, InterviewSessionSchema } from '../interview-record/session.schema.js';

/**
 * The session documents without their HTTP API: what workers (transcription, cleanup) need, so a
 * ROLE=worker process can use them without serving /api/sessions.
 */
@Module({
  imports: [
    MongooseModule.forFeature([{ name: InterviewSession.name, schema: InterviewSessionSchema }]),
    AudioStorageModule,
    WebhookEventsModule,
  ],
  providers: [SessionDocuments, SessionRepository, SessionChanges, SessionEraser, SessionWebhookRelay],
  exports: [
    SessionDocuments,
    SessionRepository,
    SessionChanges,
    SessionEraser,
    SessionWebhookRelay,
    WebhookEventsModule,
  ],
})
export class SessionDataModule {}
