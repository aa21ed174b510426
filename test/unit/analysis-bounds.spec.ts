import { BSON } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ANALYSIS_TEXT_MAX_BYTES, analysisTextShare, boundAnalysisTexts } from '../../src/analysis/analysis-bounds.js';
import type { ScoredAnswer } from '../../src/interview-record/analysis.schema.js';

/** The stored analysis's texts are bounded, whatever the scorer replied: a session document must stay far below 16 MB. */
const wide = (chars: number) => '€'.repeat(chars); // three bytes a character

function scored(questionId: string, criteria: number, rationaleChars: number, evidenceChars: number): ScoredAnswer {
  return {
    question_id: questionId,
    score: 75,
    feedback: Array.from({ length: criteria }, () => wide(rationaleChars)),
    unanswered: false,
    method: 'llm',
    criteria: Array.from({ length: criteria }, (_, i) => ({
      criterion_id: `c${i}`,
      name: 'n'.repeat(100),
      weight: 10,
      level: 3,
      score: 75,
      rationale: wide(rationaleChars),
      evidence: wide(evidenceChars),
      method: 'llm' as const,
    })),
    samples: 3,
    spread: 10,
    needs_review: false,
    not_scored_reason: null,
    delivery: null,
  };
}

describe('the stored analysis', () => {
  it('keeps a typical session whole', () => {
    const answers = Array.from({ length: 10 }, (_, i) => scored(`q${i}`, 4, 300, 200));
    expect(analysisTextShare(answers)).toBeGreaterThan(1000 * 3); // a rationale at its longest fits whole
    expect(boundAnalysisTexts(answers)).toEqual(answers);
  });

  it('stays near ANALYSIS_TEXT_MAX_BYTES at 200 questions of 10 criteria with replies at their maxima', () => {
    // the LLM's replies are accepted up to 1,000 characters of rationale and 2,000 of evidence
    const answers = Array.from({ length: 200 }, (_, i) => scored(`q${i}`.padEnd(64, 'x'), 10, 1000, 2000));
    const before = BSON.calculateObjectSize({ answers });
    const bounded = boundAnalysisTexts(answers);
    const after = BSON.calculateObjectSize({ answers: bounded });
    expect(before).toBeGreaterThan(20 * 1024 * 1024);
    expect(after).toBeLessThan(ANALYSIS_TEXT_MAX_BYTES + 1.5 * 1024 * 1024); // texts, plus names, ids and numbers
    expect(bounded.every((a) => a.texts_truncated === true)).toBe(true);
    const share = analysisTextShare(answers);
    for (const text of [
      bounded[0].criteria[0].rationale!,
      bounded[0].criteria[9].evidence!,
      bounded[199].feedback[9],
    ]) {
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(share);
      expect(text).toMatch(/^€+$/); // cut between characters, never inside one
    }
    console.log(`analysis of 200 × 10 criteria at the reply maxima: ${before} bytes unbounded, ${after} bounded`);
  });
});
