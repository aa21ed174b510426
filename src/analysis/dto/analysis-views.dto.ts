import { ProblemView } from '../../common/dto/problem.dto.js';
import { AnswerDeliveryView, SessionDeliveryView } from '../../delivery/dto/delivery-views.dto.js';

/** One criterion of the rubric, as scored. */
export class CriterionScoreView {
  criterion_id: string;
  name: string;
  weight: number;
  /** The rubric level 0–4 the LLM chose; null from the local scorer or when not judged. */
  level: number | null;
  /** 0–100 (the level times 25, or the local scorer's key-term coverage); null: not judged. */
  score: number | null;
  rationale: string | null;
  /** The candidate's own words that earned the score: a verbatim span of the transcript. */
  evidence: string | null;
  /** Local scorer: the model answer's key terms the candidate said. */
  found_terms?: string[];
  /** Local scorer: the model answer's key terms the candidate did not say. */
  missed_terms?: string[];
  /** llm; local (key-term coverage); none (not judged: score null). */
  method: 'llm' | 'local' | 'none';
  /** Present when a review flag capped the level: the level the model chose (never raised, only lowered). */
  capped_from?: number;
}

/** Why an answer needs a person to look at it. */
export class ReviewReasonView {
  /**
   * sample_spread: the samples disagree by more than SCORING_REVIEW_SPREAD; evaluator_speech: the
   * transcript speaks to the grader (asks for a score, quotes the rubric's levels, gives instructions);
   * model_reported_evaluator_speech: the scoring model reported that; coverage_disagreement: the
   * model's score is more than SCORING_COVERAGE_GAP points above the key-term coverage.
   */
  code: 'sample_spread' | 'evaluator_speech' | 'model_reported_evaluator_speech' | 'coverage_disagreement';
  /** A sentence for the reviewer, quoting the words that caused it where there are any. */
  detail: string;
}

/** What produced an answer's score, so that it can be audited and re-run. */
export class ScoringProvenanceView {
  /** llm, local (key-term coverage), or none (not scored: unanswered, nothing heard). */
  method: 'llm' | 'local' | 'none';
  /** The chat model (SCORING_MODEL) for llm; null otherwise. */
  model: string | null;
  /** @example answer-judge/2 */
  instructions_version: string;
  /** sha256 (hex) of the instructions and reply schema sent to the model. */
  instructions_hash: string;
  /** sha256 (hex) of the rubric the answer was judged by; null when not scored. */
  rubric_hash: string | null;
  samples: number;
  scored_at: string;
  /** Chat completions sent for this answer. */
  chat_calls: number;
  /** Tokens the replies' usage reported. */
  prompt_tokens: number;
  completion_tokens: number;
}

export class ScoredAnswerView {
  question_id: string;
  /** 0–100. */
  score: number;
  feedback: string[];
  model_answer: string;
  transcript: string | null;
  /** Present (true) when nothing was uploaded for the question: it scores 0. */
  unanswered?: boolean;
  /** Present (true) when a rationale, evidence quote or feedback line was cut to its share of the analysis's 1 MB for texts (only sessions of very many questions and criteria). */
  texts_truncated?: boolean;
  /** Present (true) when the recording held no speech: it scores 0, feedback "No answer was heard." */
  no_speech?: boolean;
  /** Present (true) when the transcript was a known silence hallucination of a recording with little speech: it scores 0. */
  suspect_hallucination?: boolean;
  scoring_method: 'llm' | 'local' | 'none';
  /** Per criterion of the rubric; empty when the answer was not scored (unanswered, nothing heard). */
  criteria: CriterionScoreView[];
  /** Independent scorings whose median is `score` (SCORING_SAMPLES with the LLM, 1 locally). */
  samples: number;
  /** Highest minus lowest sample score; null with fewer than two samples. */
  spread: number | null;
  /** A person should look: review_reasons says why. A flag never raises the score. */
  needs_review: boolean;
  /** Why needs_review is set; empty when it is not. */
  review_reasons: ReviewReasonView[];
  /** Null for answers of analyses stored before provenance was kept. */
  provenance: ScoringProvenanceView | null;
  /** Why an uploaded answer scores 0 unscored: nothing was heard, or the transcript is a suspected silence hallucination. */
  not_scored_reason: 'no_speech' | 'suspect_hallucination' | null;
  /** Null for sessions analyzed before delivery was measured. */
  delivery: AnswerDeliveryView | null;
}

/** 200: the session is scored (now or before). */
export class AnalysisResultView {
  status: 'success';
  /** The mean over all questions, an unanswered one counting 0. */
  final_score: number;
  scored_count: number;
  answers: ScoredAnswerView[];
  /** Question ids without an answer. */
  unanswered: string[];
  /** Question ids whose answers need review (see each answer's review_reasons). */
  needs_review: string[];
  /** Null for sessions analyzed before delivery was measured. */
  delivery: SessionDeliveryView | null;
  analyzed_at: string;
}

/** 202: answers are still queued or being transcribed; ask again after Retry-After seconds. */
export class AnalysisPendingView {
  /** transcription_pending: answers still being transcribed; scoring_in_progress: another request is scoring. */
  status: 'transcription_pending' | 'scoring_in_progress';
  message: string;
  /** Answers waiting for a worker. */
  pending_count: number;
  /** Answers being transcribed right now. */
  processing_count: number;
  /** The same number of seconds as the Retry-After header. */
  retry_after: number;
}

export class FailedTranscriptionView {
  question_id: string;
  error: string | null;
}

/** 409 with type "/problems/transcription-failed": retry or re-upload these answers first. */
export class TranscriptionFailedProblemView extends ProblemView {
  /** @example /problems/transcription-failed */
  declare type: string;
  failed: FailedTranscriptionView[];
}
