import { describe, expect, it } from 'vitest';
import { looksHallucinated } from '../../src/transcription/speech/speech-measure.js';

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
