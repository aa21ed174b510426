import { Module } from '@nestjs/common';
import { AnswersModule } from '../answers/answers.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { Transcriber } from './transcriber.js';
import { TranscriptionWorker } from './transcription.worker.js';

@Module({
  imports: [SessionsModule, AnswersModule],
  providers: [Transcriber, TranscriptionWorker],
})
export class TranscriptionModule {}
