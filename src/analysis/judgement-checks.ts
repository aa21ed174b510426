import { evaluatorSpeech, rubricQuotes } from './evaluator-speech.js';
import { verbatimSpan, wordsOf } from './evidence.js';

/** A quote shorter than this supports no judgement, unless it is the whole answer. */
export const MIN_EVIDENCE_WORDS = 8;

/** One criterion as the model judged it, its evidence checked against the transcript. */
export interface CriterionJudgement {
  level: number;
  rationale: string;
  /** The transcript's own words; null only with level 0 (nothing to quote). */
  evidence: string | null;
}

export type Checked = { judgement: CriterionJudgement } | { problem: string };

/**
 * Checks one criterion of a reply: a level 0–4, a short rationale, and evidence that is a verbatim
 * passage of the transcript, long enough to support a judgement (MIN_EVIDENCE_WORDS, or the whole
 * answer when it is shorter), and not the candidate talking about the grading.
 */
export function checkCriterion(raw: unknown, transcript: string, levelDescriptions: string[]): Checked {
  const { level, rationale, evidence } = (raw ?? {}) as Record<string, unknown>;
  if (typeof level !== 'number' || !Number.isInteger(level) || level < 0 || level > 4) {
    return { problem: 'the level is not an integer from 0 to 4' };
  }
  if (typeof rationale !== 'string' || rationale.trim().length === 0 || rationale.length > 1000) {
    return { problem: 'the rationale is not a short string' };
  }
  if (typeof evidence !== 'string' || evidence.length > 4000) return { problem: 'the evidence is not a string' };
  if (evidence.trim() === '') {
    if (level > 0) return { problem: `level ${level} comes without evidence` };
    return { judgement: { level, rationale: rationale.trim(), evidence: null } };
  }
  const span = verbatimSpan(transcript, evidence);
  if (span === null) return { problem: 'the evidence quote is not a verbatim passage of the transcript' };
  const needed = Math.min(MIN_EVIDENCE_WORDS, wordsOf(transcript).length);
  if (wordsOf(span).length < needed) {
    return { problem: `the evidence quote has fewer than ${needed} words` };
  }
  if (evaluatorSpeech(span).length > 0 || rubricQuotes(span, levelDescriptions).length > 0) {
    return { problem: 'the evidence quote is the candidate talking about the grading' };
  }
  return { judgement: { level, rationale: rationale.trim(), evidence: span } };
}

/**
 * The criteria whose quote must be asked again because every criterion quotes the same passage: all
 * but the first. Answers too short for two distinct quotes (under twice MIN_EVIDENCE_WORDS) are exempt,
 * as is a quote of the whole answer.
 */
export function repeatedQuotes(judged: Map<string, CriterionJudgement>, transcript: string): string[] {
  const quoted = [...judged].filter(([, j]) => j.evidence !== null);
  const said = wordsOf(transcript);
  if (quoted.length < 2 || said.length < 2 * MIN_EVIDENCE_WORDS) return [];
  const key = (text: string) => wordsOf(text).join(' ');
  const first = key(quoted[0][1].evidence!);
  if (!quoted.every(([, j]) => key(j.evidence!) === first) || first === said.join(' ')) return [];
  return quoted.slice(1).map(([id]) => id);
}
