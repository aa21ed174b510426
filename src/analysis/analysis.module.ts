import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { AnalysisRepository } from './analysis.repository.js';
import { AnalysisService } from './analysis.service.js';
import { AnalyzeController } from './analyze.controller.js';
import { AnswerScorer } from './answer-scorer.js';
import { AnswerScoresRepository } from './answer-scores.repository.js';
import { AnswerScoring } from './answer-scoring.js';
import { EagerScorer } from './eager-scorer.js';
import { LlmScorer } from './llm-scorer.js';

/** Scoring each answer once its transcript is stored (eager), a session once every answer is transcribed, and the stored results. */
@Module({
  imports: [SessionsModule],
  controllers: [AnalyzeController],
  providers: [
    AnalysisRepository,
    AnalysisService,
    AnswerScorer,
    AnswerScoresRepository,
    AnswerScoring,
    EagerScorer,
    LlmScorer,
  ],
})
export class AnalysisModule {}
