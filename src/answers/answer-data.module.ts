import { Module } from '@nestjs/common';
import { SessionDataModule } from '../sessions/session-data.module.js';
import { AnswerRepository } from './answer.repository.js';

/** The answers inside the session documents, for the API and the cleanup alike. */
@Module({
  imports: [SessionDataModule],
  providers: [AnswerRepository],
  exports: [AnswerRepository, SessionDataModule],
})
export class AnswerDataModule {}
