import { Module } from '@nestjs/common';
import { SessionDataModule } from './session-data.module.js';
import { SessionEventStream } from './session-event-stream.js';
import { SessionsController } from './sessions.controller.js';
import { SessionsService } from './sessions.service.js';

/** The sessions API: create, list, read, export, erase and the live event stream. */
@Module({
  imports: [SessionDataModule],
  controllers: [SessionsController],
  providers: [SessionsService, SessionEventStream],
  exports: [SessionsService, SessionDataModule],
})
export class SessionsModule {}
