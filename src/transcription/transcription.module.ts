import { Module } from '@nestjs/common';
import { AudioStorageModule } from '../audio/audio-storage.module.js';
import { SessionDataModule } from '../sessions/session-data.module.js';
import { Transcriber } from './transcriber.js';
import { TranscriptionWorker } from './transcription.worker.js';

@Module({
  imports: [SessionDataModule, AudioStorageModule],
  providers: [Transcriber, TranscriptionWorker],
})
export class TranscriptionModule {}
