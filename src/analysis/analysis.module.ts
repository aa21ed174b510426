import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { AnalysisRepository } from './analysis.repository.js';
import { AnalysisService } from './analysis.service.js';
import { AnalyzeController } from './analyze.controller.js';
import { AnswerScorer } from './answer-scorer.js';
import { LlmScorer } from './llm-scorer.js';

/** Scoring a session once every answer is transcribed, and the stored result. */
@Module({
  imports: [SessionsModule],
  controllers: [AnalyzeController],
  providers: [AnalysisRepository, AnalysisService, AnswerScorer, LlmScorer],
})
export class AnalysisModule {}
