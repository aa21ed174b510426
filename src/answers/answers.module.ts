import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { AnswerAudioStore } from './answer-audio.store.js';
import { AnswersService } from './answers.service.js';
import { AudioUploadReceiver } from './audio-upload.receiver.js';
import { TranscriptionStatusController } from './transcription-status.controller.js';
import { UploadController } from './upload.controller.js';

@Module({
  imports: [SessionsModule],
  controllers: [UploadController, TranscriptionStatusController],
  providers: [AnswersService, AnswerAudioStore, AudioUploadReceiver],
  exports: [AnswerAudioStore],
})
export class AnswersModule {}
