import { Module } from '@nestjs/common';
import { AudioStorageModule } from '../audio/audio-storage.module.js';
import { SessionDataModule } from '../sessions/session-data.module.js';
import { AudioCleanup } from './audio-cleanup.js';
import { CleanupScheduler } from './cleanup.scheduler.js';

@Module({
  imports: [SessionDataModule, AudioStorageModule],
  providers: [AudioCleanup, CleanupScheduler],
  exports: [AudioCleanup],
})
export class CleanupModule {}

/** For `npm run cleanup`: the cleanup alone, without its schedule. */
@Module({
  imports: [SessionDataModule, AudioStorageModule],
  providers: [AudioCleanup],
  exports: [AudioCleanup],
})
export class CleanupOnceModule {}
