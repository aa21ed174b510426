import { Module } from '@nestjs/common';
import { AnswerAudioStore } from './answer-audio.store.js';
import { ResumableUploadDocuments } from './resumable-upload.documents.js';
import { ResumableUploadRemovals } from './resumable-upload.removals.js';

/** Where answer audio lives while it is needed: GridFS (and, while a resumable upload is unfinished, its document). */
@Module({
  providers: [AnswerAudioStore, ResumableUploadDocuments, ResumableUploadRemovals],
  exports: [AnswerAudioStore, ResumableUploadDocuments, ResumableUploadRemovals],
})
export class AudioStorageModule {}
