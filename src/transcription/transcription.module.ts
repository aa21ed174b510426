import { Module } from '@nestjs/common';
import { AudioStorageModule } from '../audio/audio-storage.module.js';
import { SessionDataModule } from '../sessions/session-data.module.js';
import { AudioTools } from './audio-tools.js';
import { LargeRecordingTranscriber } from './large-recording.transcriber.js';
import { Transcriber } from './transcriber.js';
import { TranscriptionWorker } from './transcription.worker.js';

@Module({
  imports: [SessionDataModule, AudioStorageModule],
  providers: [AudioTools, Transcriber, LargeRecordingTranscriber, TranscriptionWorker],
})
export class TranscriptionModule {}
