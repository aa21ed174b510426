import { Inject, Injectable, Logger } from '@nestjs/common';
import { scoringSettings, type ScoringSettings } from '../config/settings.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import type { CriterionScore, ScoringMethod } from '../interview-record/analysis.schema.js';
import { LlmScorer, UnusableScore, type ScoreRequest } from './llm-scorer.js';
import { keyTermCoverage, scoreLocally, type KeyTermCoverage } from './local-scorer.js';
import type { Rubric, RubricCriterion } from '../interview-record/rubric.schema.js';

export interface AnswerScore {
  /** 0–100, one decimal: the median of the samples' weighted scores. */
  score: number;
  feedback: string[];
  method: ScoringMethod;
  /** The criteria of the sample whose score is nearest the median. */
  criteria: CriterionScore[];
  samples: number;
  spread: number | null;
  needs_review: boolean;
}

interface Sample {
  criteria: CriterionScore[];
  score: number | null;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

/** The weighted mean of the judged criteria (0–100), or null when none was judged. */
export function weightedScore(criteria: Pick<CriterionScore, 'weight' | 'score'>[]): number | null {
  const judged = criteria.filter((c) => c.score !== null);
  const weight = judged.reduce((sum, c) => sum + c.weight, 0);
  if (judged.length === 0 || weight === 0) return null;
  return round1(judged.reduce((sum, c) => sum + c.weight * (c.score as number), 0) / weight);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : round1((sorted[mid - 1] + sorted[mid]) / 2);
}

/** What the local scorer can judge of a criterion: key-term coverage for completeness, nothing else. */
function localCriterion(criterion: RubricCriterion, coverage: KeyTermCoverage, why: string): CriterionScore {
  const base = {
    criterion_id: criterion.id,
    name: criterion.name,
    weight: criterion.weight,
    level: null,
    evidence: null,
  };
  if (criterion.id !== 'completeness' || coverage.score === null) {
    return { ...base, score: null, rationale: `Not judged: ${why}.`, method: 'none' };
  }
  return {
    ...base,
    score: coverage.score,
    rationale: `Covered ${coverage.found.length} of ${coverage.found.length + coverage.missed.length} key terms from ${coverage.against}.`,
    found_terms: coverage.found,
    missed_terms: coverage.missed,
    method: 'local',
  };
}

/**
 * Scores an answer against its rubric: with the LLM (OPENAI_API_KEY set) SCORING_SAMPLES independent
 * times, each criterion on its own call whose reply is tried up to SCORING_MAX_ATTEMPTS times (an
 * evidence quote not in the transcript makes a reply unusable) before the local scorer judges that
 * criterion; without a key, the local scorer alone, once.
 */
@Injectable()
export class AnswerScorer {
  private readonly logger = new Logger(AnswerScorer.name);

  constructor(
    private readonly llm: LlmScorer,
    private readonly metrics: ServiceMetrics,
    @Inject(scoringSettings.KEY) private readonly settings: ScoringSettings,
  ) {}

  async score(request: ScoreRequest, rubric: Rubric): Promise<AnswerScore> {
    const coverage = keyTermCoverage(request.question, request.modelAnswer, request.transcript);
    const result = this.llm.available ? await this.scoreWithLlm(request, rubric, coverage) : null;
    const final = result ?? this.scoreLocally(request, rubric, coverage);
    this.metrics.answersScored.inc({ method: final.method, review: final.needs_review ? 'needs_review' : 'ok' });
    return final;
  }

  private scoreLocally(request: ScoreRequest, rubric: Rubric, coverage: KeyTermCoverage): AnswerScore {
    const local = scoreLocally(request.question, request.modelAnswer, request.transcript);
    const why = this.llm.available ? 'the LLM replies were unusable' : 'it needs the LLM scorer (OPENAI_API_KEY)';
    const criteria = rubric.criteria.map((c) => localCriterion(c, coverage, why));
    // with nothing in the rubric the local scorer can judge, the coverage is the score
    return {
      score: weightedScore(criteria) ?? local.score,
      feedback: local.feedback,
      method: 'local',
      criteria,
      samples: 1,
      spread: null,
      needs_review: false,
    };
  }

  private async scoreWithLlm(
    request: ScoreRequest,
    rubric: Rubric,
    coverage: KeyTermCoverage,
  ): Promise<AnswerScore | null> {
    const samples = await Promise.all(
      Array.from({ length: this.settings.samples }, () => this.sample(request, rubric, coverage)),
    );
    const scored = samples.filter((s): s is Sample & { score: number } => s.score !== null);
    if (scored.length === 0 || scored.every((s) => s.criteria.every((c) => c.method !== 'llm'))) return null;
    const scores = scored.map((s) => s.score);
    const score = median(scores);
    const spread = scores.length > 1 ? round1(Math.max(...scores) - Math.min(...scores)) : null;
    const nearest = scored.reduce((best, s) => (Math.abs(s.score - score) < Math.abs(best.score - score) ? s : best));
    return {
      score,
      feedback: nearest.criteria.filter((c) => c.rationale && c.score !== null).map((c) => `${c.name}: ${c.rationale}`),
      method: 'llm',
      criteria: nearest.criteria,
      samples: scores.length,
      spread,
      needs_review: spread !== null && spread > this.settings.reviewSpread,
    };
  }

  private async sample(request: ScoreRequest, rubric: Rubric, coverage: KeyTermCoverage): Promise<Sample> {
    const criteria: CriterionScore[] = [];
    for (const criterion of rubric.criteria) criteria.push(await this.criterion(request, criterion, coverage));
    return { criteria, score: weightedScore(criteria) };
  }

  private async criterion(
    request: ScoreRequest,
    criterion: RubricCriterion,
    coverage: KeyTermCoverage,
  ): Promise<CriterionScore> {
    const attempts = this.settings.maxAttempts;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const judged = await this.llm.scoreCriterion(request, criterion);
        this.metrics.scoringRequests.inc({ outcome: 'ok' });
        return {
          criterion_id: criterion.id,
          name: criterion.name,
          weight: criterion.weight,
          level: judged.level,
          score: judged.level * 25,
          rationale: judged.rationale,
          evidence: judged.evidence,
          method: 'llm',
        };
      } catch (error) {
        this.metrics.scoringRequests.inc({ outcome: error instanceof UnusableScore ? 'unusable' : 'error' });
        this.logger.warn(
          `LLM scoring of question ${request.questionId} criterion ${criterion.id} failed (attempt ${attempt} of ${attempts}): ${(error as Error).message}`,
        );
      }
    }
    this.metrics.scoringFallbacks.inc();
    this.logger.warn(`question ${request.questionId} criterion ${criterion.id}: falling back to the local scorer`);
    return localCriterion(criterion, coverage, 'the LLM replies were unusable');
  }
}
