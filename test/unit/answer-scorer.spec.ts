import { describe, expect, it } from 'vitest';
import { median, weightedScore } from '../../src/analysis/answer-scorer.js';

describe('weightedScore', () => {
  it('weights the judged criteria and leaves the unjudged out', () => {
    expect(
      weightedScore([
        { weight: 3, score: 100 },
        { weight: 1, score: 0 },
      ]),
    ).toBe(75);
    expect(
      weightedScore([
        { weight: 1, score: 100 },
        { weight: 3, score: 0 },
      ]),
    ).toBe(25);
    expect(
      weightedScore([
        { weight: 40, score: 75 },
        { weight: 30, score: null },
        { weight: 15, score: 50 },
      ]),
    ).toBe(68.2);
    expect(weightedScore([{ weight: 1, score: null }])).toBeNull();
    expect(weightedScore([])).toBeNull();
  });
});

describe('median', () => {
  it('is the middle sample, or the mean of the two middle ones', () => {
    expect(median([70, 30, 50])).toBe(50);
    expect(median([10, 40])).toBe(25);
    expect(median([42])).toBe(42);
  });
});
