import type {
  Analysis,
  CriterionScore,
  ReviewReason,
  ScoredAnswer,
  ScoringProvenance,
} from '../interview-record/analysis.schema.js';
import type { CriterionScoreView, ReviewReasonView, ScoringProvenanceView } from './dto/analysis-views.dto.js';
import type { AnalysisResultView } from './dto/analysis-views.dto.js';
import { answerOf } from '../interview-record/answer-paths.js';
import type { SessionRecord } from '../interview-record/session.schema.js';

export function criterionView(c: CriterionScore): CriterionScoreView {
  return {
    criterion_id: c.criterion_id,
    name: c.name,
    weight: c.weight,
    level: c.level ?? null,
    score: c.score ?? null,
    rationale: c.rationale ?? null,
    evidence: c.evidence ?? null,
    ...(c.found_terms ? { found_terms: c.found_terms } : {}),
    ...(c.missed_terms ? { missed_terms: c.missed_terms } : {}),
    method: c.method,
    ...(c.capped_from !== undefined ? { capped_from: c.capped_from } : {}),
  };
}

export function provenanceView(p: ScoringProvenance | undefined): ScoringProvenanceView | null {
  if (!p) return null;
  return {
    method: p.method,
    model: p.model ?? null,
    instructions_version: p.instructions_version,
    instructions_hash: p.instructions_hash,
    rubric_hash: p.rubric_hash ?? null,
    samples: p.samples,
    scored_at: p.scored_at.toISOString(),
    chat_calls: p.chat_calls ?? 0,
    prompt_tokens: p.prompt_tokens ?? 0,
    completion_tokens: p.completion_tokens ?? 0,
  };
}

export function reviewReasonsView(reasons: ReviewReason[] | undefined): ReviewReasonView[] {
  return (reasons ?? []).map((r) => ({ code: r.code, detail: r.detail }));
}

/** How one answer was judged, as both the analyze response and the export show it. */
export function judgementView(a: ScoredAnswer) {
  return {
    scoring_method: a.method,
    criteria: (a.criteria ?? []).map(criterionView),
    samples: a.samples ?? (a.method === 'none' ? 0 : 1),
    spread: a.spread ?? null,
    needs_review: a.needs_review ?? false,
    review_reasons: reviewReasonsView(a.review_reasons),
    provenance: provenanceView(a.provenance),
    not_scored_reason: a.not_scored_reason ?? null,
    delivery: a.delivery ?? null,
  };
}

/**
 * The stored analysis as the API shows it (analyses stored before rubrics lack the newer fields).
 * The model answers and transcripts come from the session: once analyzed, neither can change.
 */
export function analysisView(
  analysis: Analysis,
  session: Pick<SessionRecord, 'questions' | 'answers'>,
): AnalysisResultView {
  const modelAnswers = new Map(session.questions.map((q) => [q.question_id, q.model_answer ?? '']));
  return {
    status: 'success',
    final_score: analysis.final_score,
    scored_count: analysis.scored_count,
    answers: analysis.answers.map((a) => ({
      question_id: a.question_id,
      score: a.score,
      feedback: a.feedback,
      model_answer: a.model_answer ?? modelAnswers.get(a.question_id) ?? '',
      transcript: a.transcript !== undefined ? a.transcript : transcriptOf(session, a.question_id),
      ...(a.texts_truncated ? { texts_truncated: true } : {}),
      ...(a.unanswered ? { unanswered: true } : {}),
      ...(a.no_speech ? { no_speech: true } : {}),
      ...(a.suspect_hallucination ? { suspect_hallucination: true } : {}),
      ...judgementView(a),
    })),
    unanswered: analysis.answers.filter((a) => a.unanswered).map((a) => a.question_id),
    needs_review: analysis.answers.filter((a) => a.needs_review).map((a) => a.question_id),
    delivery: analysis.delivery ?? null,
    analyzed_at: analysis.analyzed_at.toISOString(),
  };
}

/** What the analysis scored of a question: its transcript, '' when it has none yet, null when unanswered. */
function transcriptOf(session: Pick<SessionRecord, 'answers'>, questionId: string): string | null {
  const answer = answerOf(session.answers, questionId);
  return answer ? (answer.transcript ?? '') : null;
}
