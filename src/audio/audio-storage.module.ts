import { Module } from '@nestjs/common';
import { AnswerAudioStore } from './answer-audio.store.js';

/** Where answer audio lives while it is needed: GridFS. */
@Module({ providers: [AnswerAudioStore], exports: [AnswerAudioStore] })
export class AudioStorageModule {}
