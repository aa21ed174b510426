import { truncateUtf8 } from '../common/utf8.js';
import type { ScoredAnswer } from '../interview-record/analysis.schema.js';

/**
 * What the stored analysis's own texts (each criterion's rationale and evidence, each feedback line)
 * may take in the session document together. The analysis keeps no copy of the model answers or the
 * transcripts (the views take them from the session), so this is all it adds besides numbers.
 */
export const ANALYSIS_TEXT_MAX_BYTES = 1024 * 1024;

/**
 * Each text's share of ANALYSIS_TEXT_MAX_BYTES: fixed by how many texts the analysis can hold (per
 * criterion a rationale, an evidence and the key terms found and missed; each feedback line), so that 200
 * questions of 10 criteria stay within it. A typical session's share is far beyond any reply.
 */
export function analysisTextShare(answers: ScoredAnswer[]): number {
  const texts = answers.reduce((sum, a) => sum + 4 * Math.max(1, a.criteria.length) + a.feedback.length, 0);
  return Math.floor(ANALYSIS_TEXT_MAX_BYTES / Math.max(1, texts));
}

/**
 * The analysis's texts within their share: each cut at a character boundary. A cut evidence is
 * still a verbatim passage of the transcript (its beginning); `texts_truncated` says a cut happened.
 */
export function boundAnalysisTexts(answers: ScoredAnswer[]): ScoredAnswer[] {
  const share = analysisTextShare(answers);
  const cut = (text: string | null, flag: { cut: boolean }) => {
    if (text === null || Buffer.byteLength(text) <= share) return text;
    flag.cut = true;
    return truncateUtf8(text, share);
  };
  return answers.map((answer) => {
    const flag = { cut: false };
    const bounded: ScoredAnswer = {
      ...answer,
      feedback: answer.feedback.map((line) => cut(line, flag)!),
      criteria: answer.criteria.map((c) => ({
        ...c,
        rationale: cut(c.rationale, flag),
        evidence: cut(c.evidence, flag),
        ...(c.found_terms ? { found_terms: termsWithin(c.found_terms, share, flag) } : {}),
        ...(c.missed_terms ? { missed_terms: termsWithin(c.missed_terms, share, flag) } : {}),
      })),
    };
    return flag.cut ? { ...bounded, texts_truncated: true } : bounded;
  });
}

/**
 * One answer's score within the share it would have in an analysis of `questions` answers with as
 * many criteria each: what a per-answer score (answer_scores) may keep before the analysis exists.
 */
export function boundScoreTexts<T extends Pick<ScoredAnswer, 'criteria' | 'feedback'>>(score: T, questions: number): T {
  const texts = Math.max(1, questions) * (4 * Math.max(1, score.criteria.length) + score.feedback.length);
  const share = Math.floor(ANALYSIS_TEXT_MAX_BYTES / texts);
  const flag = { cut: false };
  const cut = (text: string | null) => {
    if (text === null || Buffer.byteLength(text) <= share) return text;
    flag.cut = true;
    return truncateUtf8(text, share);
  };
  const bounded = {
    ...score,
    feedback: score.feedback.map((line) => cut(line)!),
    criteria: score.criteria.map((c) => ({
      ...c,
      rationale: cut(c.rationale),
      evidence: cut(c.evidence),
      ...(c.found_terms ? { found_terms: termsWithin(c.found_terms, share, flag) } : {}),
      ...(c.missed_terms ? { missed_terms: termsWithin(c.missed_terms, share, flag) } : {}),
    })),
  };
  return flag.cut ? { ...bounded, texts_truncated: true } : bounded;
}

/** The first key terms whose bytes together fit `share` (the rationale keeps their counts). */
function termsWithin(terms: string[], share: number, flag: { cut: boolean }): string[] {
  let used = 0;
  const kept = terms.filter((term) => (used += Buffer.byteLength(term) + 8) <= share);
  if (kept.length < terms.length) flag.cut = true;
  return kept;
}
