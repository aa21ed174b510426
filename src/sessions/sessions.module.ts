import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { InterviewSession, InterviewSessionSchema } from './session.schema.js';
import { AudioStorageModule } from '../audio/audio-storage.module.js';
import { SessionChanges } from './session-changes.js';
import { SessionEraser } from './session-eraser.js';
import { SessionEventStream } from './session-event-stream.js';
import { SessionStore } from './session.store.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsService } from './sessions.service.js';

@Module({
  imports: [
    MongooseModule.forFeature([{ name: InterviewSession.name, schema: InterviewSessionSchema }]),
    AudioStorageModule,
  ],
  controllers: [SessionsController],
  providers: [SessionsService, SessionStore, SessionChanges, SessionEventStream, SessionEraser],
  exports: [SessionsService, SessionStore, SessionChanges, SessionEraser],
})
export class SessionsModule {}
