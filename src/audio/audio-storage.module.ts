import { Module } from '@nestjs/common';
import { AnswerAudioStore } from './answer-audio.store.js';
import { ResumableUploadDocuments } from './resumable-upload.documents.js';
import { ResumableUploadRemovals } from './resumable-upload.removals.js';
import { TranscriptsAheadDocuments } from './transcripts-ahead.documents.js';

/** Where answer audio lives while it is needed: GridFS (and, while a resumable upload is unfinished, its document). */
@Module({
  providers: [AnswerAudioStore, ResumableUploadDocuments, ResumableUploadRemovals, TranscriptsAheadDocuments],
  exports: [AnswerAudioStore, ResumableUploadDocuments, ResumableUploadRemovals, TranscriptsAheadDocuments],
})
export class AudioStorageModule {}
