import { Module } from '@nestjs/common';
import { AudioStorageModule } from '../audio/audio-storage.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { AudioCleanup } from './audio-cleanup.js';
import { CleanupScheduler } from './cleanup.scheduler.js';

@Module({
  imports: [SessionsModule, AudioStorageModule],
  providers: [AudioCleanup, CleanupScheduler],
  exports: [AudioCleanup],
})
export class CleanupModule {}

/** For `npm run cleanup`: the cleanup alone, without its schedule. */
@Module({
  imports: [SessionsModule, AudioStorageModule],
  providers: [AudioCleanup],
  exports: [AudioCleanup],
})
export class CleanupOnceModule {}
