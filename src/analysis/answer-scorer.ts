import { Inject, Injectable, Logger } from '@nestjs/common';
import { scoringSettings, type ScoringSettings } from '../config/settings.js';
import type { ScoringMethod } from './analysis.schema.js';
import { LlmScorer, type ScoreRequest } from './llm-scorer.js';
import { scoreLocally } from './local-scorer.js';

export interface AnswerScore {
  score: number;
  feedback: string[];
  method: ScoringMethod;
}

/**
 * Scores with the LLM when OPENAI_API_KEY is set, retrying an unusable reply up to
 * SCORING_MAX_ATTEMPTS times, and falls back to the deterministic local scorer otherwise.
 */
@Injectable()
export class AnswerScorer {
  private readonly logger = new Logger(AnswerScorer.name);
  private readonly maxAttempts: number;

  constructor(
    private readonly llm: LlmScorer,
    @Inject(scoringSettings.KEY) settings: ScoringSettings,
  ) {
    this.maxAttempts = settings.maxAttempts;
  }

  async score(request: ScoreRequest): Promise<AnswerScore> {
    if (this.llm.available) {
      for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
        try {
          return { ...(await this.llm.score(request)), method: 'llm' };
        } catch (error) {
          this.logger.warn(
            `LLM scoring of question ${request.questionId} failed (attempt ${attempt} of ${this.maxAttempts}): ${(error as Error).message}`,
          );
        }
      }
      this.logger.warn(`question ${request.questionId}: falling back to the local scorer`);
    }
    return { ...scoreLocally(request.question, request.modelAnswer, request.transcript), method: 'local' };
  }
}
