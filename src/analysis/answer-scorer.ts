import { Inject, Injectable, Logger } from '@nestjs/common';
import { scoringSettings, type ScoringSettings } from '../config/settings.js';
import { Clock } from '../database/clock.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import type {
  CriterionScore,
  ReviewReason,
  ScoringMethod,
  ScoringProvenance,
} from '../interview-record/analysis.schema.js';
import type { Rubric, RubricCriterion } from '../interview-record/rubric.schema.js';
import { evaluatorSpeech, rubricQuotes } from './evaluator-speech.js';
import { verbatimSpan } from './evidence.js';
import { checkCriterion, repeatedQuotes, type CriterionJudgement } from './judgement-checks.js';
import { LlmScorer, UnusableScore, type ScoreRequest, type TokenUsage } from './llm-scorer.js';
import { keyTermCoverage, scoreLocally, type KeyTermCoverage } from './local-scorer.js';
import { INSTRUCTIONS_HASH, INSTRUCTIONS_VERSION, rubricHash } from './scoring-instructions.js';

export interface AnswerScore {
  /** 0–100, one decimal: the median of the samples' weighted scores, capped when flagged. */
  score: number;
  feedback: string[];
  method: ScoringMethod;
  /** The criteria of the sample whose score is nearest the median. */
  criteria: CriterionScore[];
  samples: number;
  spread: number | null;
  needs_review: boolean;
  review_reasons: ReviewReason[];
  provenance: ScoringProvenance;
}

interface Sample {
  criteria: CriterionScore[];
  score: number | null;
  /** The model said the candidate spoke to the grader, with its quote when that is verbatim. */
  addressed: { quote: string | null } | null;
  calls: number;
  usage: TokenUsage;
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

/**
 * The highest level the key-term coverage supports (0–100 → 1–4): one level above what a straight
 * reading of the coverage gives, since a good answer may say things in its own words. Null when there
 * is no model answer to compare with.
 */
export function coverageCeiling(coverage: KeyTermCoverage): number | null {
  if (coverage.score === null || coverage.against !== 'the model answer') return null;
  return Math.min(4, Math.floor(coverage.score / 25) + 1);
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

/** The rubric's descriptions of levels 3 and 4: a candidate reciting them is quoting the grading. */
const upperLevels = (rubric: Rubric) => rubric.criteria.flatMap((c) => c.levels.slice(3));

/**
 * Scores an answer against its rubric. With the LLM (OPENAI_API_KEY set): SCORING_SAMPLES independent
 * calls in parallel, each judging every criterion in one structured reply; a criterion whose judgement
 * fails its checks (evidence-checks in judgement-checks.ts) is asked again on its own, up to
 * SCORING_MAX_ATTEMPTS times, before the local scorer judges it. Speech addressed to the grader (the
 * model's report, or the deterministic check) and a score far above the key-term coverage set
 * needs_review and cap the levels; they never raise a score. Without a key, the local scorer alone.
 */
@Injectable()
export class AnswerScorer {
  private readonly logger = new Logger(AnswerScorer.name);

  constructor(
    private readonly llm: LlmScorer,
    private readonly metrics: ServiceMetrics,
    private readonly clock: Clock,
    @Inject(scoringSettings.KEY) private readonly settings: ScoringSettings,
  ) {}

  async score(request: ScoreRequest, rubric: Rubric): Promise<AnswerScore> {
    const coverage = keyTermCoverage(request.question, request.modelAnswer, request.transcript);
    const result = this.llm.available ? await this.scoreWithLlm(request, rubric, coverage) : null;
    const final = result ?? this.scoreLocally(request, rubric, coverage);
    this.metrics.answersScored.inc({ method: final.method, review: final.needs_review ? 'needs_review' : 'ok' });
    const p = final.provenance;
    // never the transcript: the question id, the cost and the outcome
    this.logger.log(
      `scored question=${request.questionId} method=${final.method} score=${final.score} calls=${p.chat_calls} ` +
        `prompt_tokens=${p.prompt_tokens} completion_tokens=${p.completion_tokens} needs_review=${final.needs_review}` +
        (final.review_reasons.length ? ` reasons=${final.review_reasons.map((r) => r.code).join(',')}` : ''),
    );
    return final;
  }

  private provenance(method: ScoringMethod, rubric: Rubric, samples: number, calls = 0, usage?: TokenUsage) {
    return {
      method,
      model: method === 'llm' ? this.llm.model : null,
      instructions_version: INSTRUCTIONS_VERSION,
      instructions_hash: INSTRUCTIONS_HASH,
      rubric_hash: rubricHash(rubric),
      samples,
      scored_at: this.clock.now(),
      chat_calls: calls,
      prompt_tokens: usage?.prompt_tokens ?? 0,
      completion_tokens: usage?.completion_tokens ?? 0,
    };
  }

  private scoreLocally(
    request: ScoreRequest,
    rubric: Rubric,
    coverage: KeyTermCoverage,
    spent?: { calls: number; usage: TokenUsage },
  ): AnswerScore {
    const local = scoreLocally(request.question, request.modelAnswer, request.transcript);
    const why = this.llm.available ? 'the LLM replies were unusable' : 'it needs the LLM scorer (OPENAI_API_KEY)';
    const criteria = rubric.criteria.map((c) => localCriterion(c, coverage, why));
    const reasons = this.deterministicReasons(request, rubric);
    return {
      // with nothing in the rubric the local scorer can judge, the coverage is the score
      score: weightedScore(criteria) ?? local.score,
      feedback: local.feedback,
      method: 'local',
      criteria,
      samples: 1,
      spread: null,
      needs_review: reasons.length > 0,
      review_reasons: reasons,
      provenance: this.provenance('local', rubric, 1, spent?.calls, spent?.usage),
    };
  }

  /** Speech to the grader that the transcript itself shows, whatever the model says. */
  private deterministicReasons(request: ScoreRequest, rubric: Rubric): ReviewReason[] {
    const heard = [...evaluatorSpeech(request.transcript), ...rubricQuotes(request.transcript, upperLevels(rubric))];
    if (heard.length === 0) return [];
    const quoted = heard
      .slice(0, 3)
      .map((h) => `“${h.phrase}”${h.language === 'rubric' ? ' (the rubric’s words)' : ''}`)
      .join(', ');
    return [{ code: 'evaluator_speech', detail: `The candidate spoke to the grader: ${quoted}.` }];
  }

  private async scoreWithLlm(
    request: ScoreRequest,
    rubric: Rubric,
    coverage: KeyTermCoverage,
  ): Promise<AnswerScore | null> {
    const samples = await Promise.all(
      Array.from({ length: this.settings.samples }, () => this.sample(request, rubric, coverage)),
    );
    const calls = samples.reduce((sum, s) => sum + s.calls, 0);
    const usage = {
      prompt_tokens: samples.reduce((sum, s) => sum + s.usage.prompt_tokens, 0),
      completion_tokens: samples.reduce((sum, s) => sum + s.usage.completion_tokens, 0),
    };
    this.metrics.scoringTokens.inc({ kind: 'prompt' }, usage.prompt_tokens);
    this.metrics.scoringTokens.inc({ kind: 'completion' }, usage.completion_tokens);
    const scored = samples.filter((s): s is Sample & { score: number } => s.score !== null);
    if (scored.length === 0 || scored.every((s) => s.criteria.every((c) => c.method !== 'llm'))) {
      return this.scoreLocally(request, rubric, coverage, { calls, usage });
    }
    const scores = scored.map((s) => s.score);
    const medianScore = median(scores);
    const spread = scores.length > 1 ? round1(Math.max(...scores) - Math.min(...scores)) : null;
    const nearest = scored.reduce((best, s) =>
      Math.abs(s.score - medianScore) < Math.abs(best.score - medianScore) ? s : best,
    );

    const reasons: ReviewReason[] = [];
    if (spread !== null && spread > this.settings.reviewSpread) {
      reasons.push({
        code: 'sample_spread',
        detail: `The ${scores.length} scorings disagree by ${spread} points (more than ${this.settings.reviewSpread}).`,
      });
    }
    const deterministic = this.deterministicReasons(request, rubric);
    reasons.push(...deterministic);
    const reported = samples.filter((s) => s.addressed !== null);
    if (reported.length > 0) {
      const quote = reported.map((s) => s.addressed!.quote).find((q) => q !== null);
      reasons.push({
        code: 'model_reported_evaluator_speech',
        detail:
          `${reported.length} of ${samples.length} scorings report the candidate speaking to the grader` +
          (quote ? `: “${quote}”.` : '.'),
      });
    }
    const ceiling = coverageCeiling(coverage);
    const disagrees =
      coverage.score !== null && ceiling !== null && medianScore - coverage.score > this.settings.coverageGap;
    if (disagrees) {
      reasons.push({
        code: 'coverage_disagreement',
        detail: `The model's score (${medianScore}) is ${round1(medianScore - coverage.score!)} points above the key-term coverage (${coverage.score}: ${coverage.found.length} of ${coverage.found.length + coverage.missed.length} key terms of the model answer).`,
      });
    }
    // a flag never raises a score: speech to the grader caps every level below the top and at what
    // the coverage supports; a disagreement caps it at what the coverage supports
    const gamed = deterministic.length > 0 || reported.length > 0;
    const cap = gamed ? Math.min(3, ceiling ?? 3) : disagrees ? ceiling : null;
    const criteria = cap === null ? nearest.criteria : nearest.criteria.map((c) => capCriterion(c, cap));
    const score = cap === null ? medianScore : Math.min(medianScore, weightedScore(criteria) ?? medianScore);
    const feedback = criteria.filter((c) => c.rationale && c.score !== null).map((c) => `${c.name}: ${c.rationale}`);
    return {
      score,
      feedback: reasons.some((r) => r.code !== 'sample_spread')
        ? ['Flagged for review: ' + reasons.map((r) => r.detail).join(' '), ...feedback]
        : feedback,
      method: 'llm',
      criteria,
      samples: scores.length,
      spread,
      needs_review: reasons.length > 0,
      review_reasons: reasons,
      provenance: this.provenance('llm', rubric, scores.length, calls, usage),
    };
  }

  /**
   * One independent judgement of every criterion: one call for the whole rubric, then calls for only
   * the criteria whose judgement failed its checks, each criterion at most SCORING_MAX_ATTEMPTS times.
   */
  private async sample(request: ScoreRequest, rubric: Rubric, coverage: KeyTermCoverage): Promise<Sample> {
    const attempts = new Map(rubric.criteria.map((c) => [c.id, 0]));
    const accepted = new Map<string, CriterionJudgement>();
    const failed = new Set<string>();
    const sample: Sample = { criteria: [], score: null, addressed: null, calls: 0, usage: usage0() };
    const levels = upperLevels(rubric);
    let note: string | undefined;
    for (;;) {
      const pending = rubric.criteria.filter((c) => !accepted.has(c.id) && !failed.has(c.id));
      if (pending.length === 0) break;
      for (const c of pending) attempts.set(c.id, attempts.get(c.id)! + 1);
      sample.calls++;
      const problems: string[] = [];
      try {
        const reply = await this.llm.judge(request, pending, note);
        addUsage(sample.usage, reply.usage);
        if (reply.addressedToEvaluator && sample.addressed === null) {
          sample.addressed = {
            quote: reply.evaluatorQuote ? verbatimSpan(request.transcript, reply.evaluatorQuote) : null,
          };
        }
        for (const c of pending) {
          const checked = checkCriterion(reply.criteria[c.id], request.transcript, levels);
          if ('judgement' in checked) accepted.set(c.id, checked.judgement);
          else problems.push(`${c.id}: ${checked.problem}`);
        }
        const repeated = repeatedQuotes(accepted, request.transcript);
        for (const id of repeated) {
          accepted.delete(id);
          problems.push(`${id}: the same quote as every other criterion`);
        }
        note = repeated.length
          ? 'Quote a different passage of the transcript for each criterion where the answer allows.'
          : undefined;
        this.metrics.scoringRequests.inc({ outcome: problems.length ? 'unusable' : 'ok' });
      } catch (error) {
        if (error instanceof UnusableScore) addUsage(sample.usage, error.usage);
        this.metrics.scoringRequests.inc({ outcome: error instanceof UnusableScore ? 'unusable' : 'error' });
        problems.push(`${pending.map((c) => c.id).join(',')}: ${(error as Error).message}`);
      }
      if (problems.length) {
        this.logger.warn(`LLM scoring of question ${request.questionId} was partly unusable: ${problems.join('; ')}`);
      }
      for (const c of pending) {
        if (!accepted.has(c.id) && attempts.get(c.id)! >= this.settings.maxAttempts) failed.add(c.id);
      }
    }
    sample.criteria = rubric.criteria.map((criterion) => {
      const judged = accepted.get(criterion.id);
      if (judged) {
        return {
          criterion_id: criterion.id,
          name: criterion.name,
          weight: criterion.weight,
          level: judged.level,
          score: judged.level * 25,
          rationale: judged.rationale,
          evidence: judged.evidence,
          method: 'llm' as const,
        };
      }
      this.metrics.scoringFallbacks.inc();
      this.logger.warn(`question ${request.questionId} criterion ${criterion.id}: falling back to the local scorer`);
      return localCriterion(criterion, coverage, 'the LLM replies were unusable');
    });
    sample.score = weightedScore(sample.criteria);
    return sample;
  }
}

function capCriterion(c: CriterionScore, cap: number): CriterionScore {
  if (c.score === null || c.score <= cap * 25) return c;
  if (c.level === null) return { ...c, score: cap * 25 };
  return { ...c, level: cap, score: cap * 25, capped_from: c.level };
}

const usage0 = (): TokenUsage => ({ prompt_tokens: 0, completion_tokens: 0 });

function addUsage(into: TokenUsage, more: TokenUsage) {
  into.prompt_tokens += more.prompt_tokens;
  into.completion_tokens += more.completion_tokens;
}
