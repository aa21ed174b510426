import { Module } from '@nestjs/common';
import { AudioStorageModule } from '../audio/audio-storage.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { AnswersService } from './answers.service.js';
import { AudioUploadReceiver } from './audio-upload.receiver.js';
import { TranscriptionStatusController } from './transcription-status.controller.js';
import { UploadController } from './upload.controller.js';

@Module({
  imports: [SessionsModule, AudioStorageModule],
  controllers: [UploadController, TranscriptionStatusController],
  providers: [AnswersService, AudioUploadReceiver],
})
export class AnswersModule {}
