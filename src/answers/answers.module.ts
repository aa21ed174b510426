import { Module } from '@nestjs/common';
import { AudioStorageModule } from '../audio/audio-storage.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { AnswerDataModule } from './answer-data.module.js';
import { AnswersService } from './answers.service.js';
import { AnswerIntake } from './intake/answer-intake.js';
import { AudioUploadReceiver } from './intake/audio-upload.receiver.js';
import { TranscriptionStatusController } from './transcription-status.controller.js';
import { UploadIntake } from './intake/upload-intake.js';
import { UploadController } from './upload.controller.js';
import { ResumableUploadsController } from './resumable/resumable-uploads.controller.js';
import { ResumableUploadsService } from './resumable/resumable-uploads.service.js';
import { UploadCompletion } from './resumable/upload-completion.js';

/** Uploading, withdrawing and retrying answers, and their transcription status. */
@Module({
  imports: [SessionsModule, AnswerDataModule, AudioStorageModule],
  controllers: [UploadController, ResumableUploadsController, TranscriptionStatusController],
  providers: [
    AnswersService,
    AudioUploadReceiver,
    AnswerIntake,
    UploadIntake,
    UploadCompletion,
    ResumableUploadsService,
  ],
})
export class AnswersModule {}
