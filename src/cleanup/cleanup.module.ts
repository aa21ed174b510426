import { Module } from '@nestjs/common';
import { AnswerDataModule } from '../answers/answer-data.module.js';
import { AudioStorageModule } from '../audio/audio-storage.module.js';
import { AudioCleanup } from './audio-cleanup.js';
import { CleanupScheduler } from './cleanup.scheduler.js';
import { SessionRetention } from './session-retention.js';

const CLEANUP_IMPORTS = [AnswerDataModule, AudioStorageModule];

/** The nightly cleanup of audio and old sessions, on its schedule (worker instances). */
@Module({
  imports: CLEANUP_IMPORTS,
  providers: [AudioCleanup, SessionRetention, CleanupScheduler],
  exports: [AudioCleanup],
})
export class CleanupModule {}

/** For `npm run cleanup`: the cleanup alone, without its schedule. */
@Module({
  imports: CLEANUP_IMPORTS,
  providers: [AudioCleanup, SessionRetention],
  exports: [AudioCleanup],
})
export class CleanupOnceModule {}
