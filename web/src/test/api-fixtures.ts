import type { ScoredAnswer, SessionQuestion } from '../api/types';

/**
 * The server's answers, whole, for the tests: a test gives the fields it is about, and every other
 * field takes the value the server sends in the plainest case (no rubric, one sample, nothing to
 * review, no delivery figures), so a fixture is always a shape the server can send.
 */

export function question(
  fields: Pick<SessionQuestion, 'question_id' | 'text'> & Partial<SessionQuestion>,
): SessionQuestion {
  return { model_answer: '', rubric: null, ...fields };
}

export function scoredAnswer(
  fields: Pick<ScoredAnswer, 'question_id' | 'score' | 'feedback' | 'scoring_method'> & Partial<ScoredAnswer>,
): ScoredAnswer {
  return {
    model_answer: '',
    transcript: null,
    criteria: [],
    samples: 1,
    spread: null,
    needs_review: false,
    review_reasons: [],
    provenance: null,
    not_scored_reason: null,
    delivery: null,
    ...fields,
  };
}
