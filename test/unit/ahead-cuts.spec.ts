import { describe, expect, it } from 'vitest';
import { aheadCuts, END_MARGIN_SECONDS, speechWithin } from '../../src/transcription/ahead/ahead-cuts.js';

const pause = (start: number, end: number) => ({ start, end });
const limits = { aheadSeconds: 20, maxSeconds: 600 };

describe('aheadCuts', () => {
  it('cuts nothing before aheadSeconds are heard after the last cut', () => {
    expect(aheadCuts(0, 19.9, [pause(10, 11)], limits)).toEqual([]);
    expect(aheadCuts(40, 59, [pause(50, 51)], limits)).toEqual([]);
  });

  it('cuts in the middle of the latest pause in reach, from half of aheadSeconds to twice it', () => {
    // pauses at 5 (too early), 12, 24 and 38 s; heard to 45 s
    const silences = [pause(4.5, 5.5), pause(11, 13), pause(23.5, 24.5), pause(37, 39)];
    // from 0: the latest pause by 40 s is 38 → then 7 s are left, too few for another
    expect(aheadCuts(0, 45, silences, limits)).toEqual([38]);
  });

  it('turns a backlog into pieces of about aheadSeconds each', () => {
    const silences = Array.from({ length: 20 }, (_, i) => pause(i * 10 + 9, i * 10 + 10)); // a pause every 10 s
    expect(aheadCuts(0, 200, silences, limits)).toEqual([39.5, 79.5, 119.5, 159.5, 199.5]);
  });

  it('never cuts within END_MARGIN_SECONDS of the end of what was heard', () => {
    // the only pause ends at the very end: the words after it may be arriving
    expect(aheadCuts(0, 30.2, [pause(29.5, 30.2)], limits)).toEqual([]);
    const cuts = aheadCuts(0, 30.5, [pause(29.5, 30.5)], limits);
    expect(cuts).toEqual([30]);
    expect(cuts[0]).toBeLessThanOrEqual(30.5 - END_MARGIN_SECONDS);
  });

  it('waits for a pause, and cuts at 90 % of maxSeconds when the speaker never pauses', () => {
    const short = { aheadSeconds: 20, maxSeconds: 60 };
    expect(aheadCuts(0, 59, [], short)).toEqual([]);
    expect(aheadCuts(0, 60, [], short)).toEqual([54]);
    // a pause past twice aheadSeconds is still taken before a cut without one
    expect(aheadCuts(0, 60, [pause(49, 51)], short)).toEqual([50]);
  });

  it('counts from the end of what is transcribed, not from 0', () => {
    expect(aheadCuts(100, 125, [pause(95, 96), pause(117, 118)], limits)).toEqual([117.5]);
  });
});

describe('speechWithin', () => {
  it('is the stretch less the silences inside it', () => {
    expect(speechWithin(10, 20, [pause(0, 11), pause(14, 15), pause(19.5, 30)])).toBeCloseTo(7.5, 6);
    expect(speechWithin(10, 20, [pause(0, 30)])).toBe(0);
    expect(speechWithin(10, 20, [])).toBe(10);
  });
});
