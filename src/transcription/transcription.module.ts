import { Module } from '@nestjs/common';
import { AudioStorageModule } from '../audio/audio-storage.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { Transcriber } from './transcriber.js';
import { TranscriptionWorker } from './transcription.worker.js';

@Module({
  imports: [SessionsModule, AudioStorageModule],
  providers: [Transcriber, TranscriptionWorker],
})
export class TranscriptionModule {}
