import { describe, expect, it } from 'vitest';
import { planPieces } from '../../src/transcription/transcribers/piece-plan.js';

const MB = 1024 * 1024;

describe('planPieces', () => {
  it('keeps a recording that fits in one piece whole', () => {
    expect(planPieces(300, 1 * MB, [], { maxBytes: 25 * MB, maxSeconds: 600 })).toEqual([
      { start_seconds: 0, end_seconds: 300 },
    ]);
  });

  it('cuts into about equal pieces, each in the middle of the pause nearest its aim', () => {
    // 1800 s with at most 600 s: 4 pieces aiming at 450 s, a cut may move 60 s to reach a pause
    const silences = [
      { start: 100, end: 101 }, // too far from 450
      { start: 400, end: 402 }, // 401: 49 s early
      { start: 470, end: 471 }, // 470.5: 20.5 s late, nearer: wins
      { start: 1330, end: 1332 }, // 1331: nearest to the third aim (470.5 + 1329.5 / 3 * 2 = 1356.8)
    ];
    expect(planPieces(1800, 5 * MB, silences, { maxBytes: 25 * MB, maxSeconds: 600 })).toEqual([
      { start_seconds: 0, end_seconds: 470.5 },
      { start_seconds: 470.5, end_seconds: 913.667 }, // no pause in reach: at the aim
      { start_seconds: 913.667, end_seconds: 1331 },
      { start_seconds: 1331, end_seconds: 1800 },
    ]);
  });

  it('makes pieces short enough for the byte limit, with a margin', () => {
    // 10 MB for 1000 s is 10 kB/s; 2 MB * 0.85 allows 178.3 s
    const pieces = planPieces(1000, 10 * 1000 * 1000, [], { maxBytes: 2 * MB, maxSeconds: 600 });
    expect(pieces).toHaveLength(7);
    for (const p of pieces) expect((p.end_seconds - p.start_seconds) * 10_000).toBeLessThan(2 * MB);
    expect(pieces.at(-1)!.end_seconds).toBe(1000);
    for (let i = 1; i < pieces.length; i++) expect(pieces[i].start_seconds).toBe(pieces[i - 1].end_seconds);
  });

  it('never lets a pause stretch a piece past the limit', () => {
    const pieces = planPieces(1150, 1 * MB, [{ start: 599, end: 601 }], { maxBytes: 25 * MB, maxSeconds: 600 });
    expect(pieces).toEqual([
      { start_seconds: 0, end_seconds: 383.333 },
      { start_seconds: 383.333, end_seconds: 766.667 },
      { start_seconds: 766.667, end_seconds: 1150 },
    ]);
  });
});
