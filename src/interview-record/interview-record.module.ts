import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { SessionDocuments } from './session-documents.js';
import { InterviewSession, InterviewSessionSchema } from './session.schema.js';

/** The interview-session collection and the one way to write it; every feature that reads or writes sessions imports this. */
@Module({
  imports: [MongooseModule.forFeature([{ name: InterviewSession.name, schema: InterviewSessionSchema }])],
  providers: [SessionDocuments],
  exports: [SessionDocuments],
})
export class InterviewRecordModule {}
