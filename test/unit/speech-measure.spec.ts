import { describe, expect, it } from 'vitest';
import { looksHallucinated, measureSpeech } from '../../src/transcription/speech/speech-measure.js';

describe('measureSpeech', () => {
  it('keeps the pauses between the first and the last speech, not the leading or trailing silence', () => {
    const speech = measureSpeech(
      [
        { start: 0, end: 2.50006 },
        { start: 5.46019, end: 8.36669 },
        { start: 10.5499, end: 13.4395 },
      ],
      13.4395,
    );
    expect(speech).toEqual({
      duration_seconds: 13.44,
      speech_seconds: 5.14,
      pauses: [{ start: 5.46, end: 8.37 }],
    });
  });

  it('is all speech without silences, and none when silence covers everything', () => {
    expect(measureSpeech([], 3.2)).toEqual({ duration_seconds: 3.2, speech_seconds: 3.2, pauses: [] });
    expect(measureSpeech([{ start: 0, end: 4 }], 4)).toEqual({ duration_seconds: 4, speech_seconds: 0, pauses: [] });
  });

  it('counts a silence still open at the end as trailing, and ignores stretches of a millisecond', () => {
    expect(
      measureSpeech(
        [
          { start: 0, end: 1.0005 },
          { start: 1.0009, end: 2 },
          { start: 3, end: 6 },
        ],
        6,
      ),
    ).toEqual({ duration_seconds: 6, speech_seconds: 1, pauses: [] });
  });
});

describe('looksHallucinated', () => {
  const little = { duration_seconds: 5, speech_seconds: 0.6, pauses: [] };
  const plenty = { duration_seconds: 30, speech_seconds: 20, pauses: [] };

  it('flags the known silence phrases of a recording with little speech, alone or repeated', () => {
    expect(looksHallucinated('Thank you for watching!', little)).toBe(true);
    expect(looksHallucinated(' Thank you. Thank you.', little)).toBe(true);
    expect(looksHallucinated('Subtitles by the Amara.org community', little)).toBe(true);
  });

  it('leaves real words, and any transcript of plenty of speech, alone', () => {
    expect(looksHallucinated('Thank you for watching', plenty)).toBe(false);
    expect(looksHallucinated('Idempotent means safe to retry.', little)).toBe(false);
    expect(looksHallucinated('Thank you. It uses GridFS.', little)).toBe(false);
    expect(looksHallucinated('', little)).toBe(false);
  });
});
