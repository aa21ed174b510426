import { Module } from '@nestjs/common';
import { AudioStorageModule } from '../audio/audio-storage.module.js';
import { InterviewRecordModule } from '../interview-record/interview-record.module.js';
import { WebhookEventsModule } from '../webhooks/webhooks.module.js';
import { SessionChanges } from './session-changes.js';
import { SessionEraser } from './session-eraser.js';
import { SessionRepository } from './session.repository.js';

/**
 * Sessions without their HTTP API: what workers (cleanup) need, so a ROLE=worker process can use
 * them without serving /api/sessions.
 */
@Module({
  imports: [InterviewRecordModule, AudioStorageModule, WebhookEventsModule],
  providers: [SessionRepository, SessionChanges, SessionEraser],
  exports: [SessionRepository, SessionChanges, SessionEraser, InterviewRecordModule, WebhookEventsModule],
})
export class SessionDataModule {}
