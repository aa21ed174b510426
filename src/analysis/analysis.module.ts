import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { AnalysisService } from './analysis.service.js';
import { AnalyzeController } from './analyze.controller.js';
import { AnswerScorer } from './answer-scorer.js';
import { LlmScorer } from './llm-scorer.js';

@Module({
  imports: [SessionsModule],
  controllers: [AnalyzeController],
  providers: [AnalysisService, AnswerScorer, LlmScorer],
})
export class AnalysisModule {}
