import { describe, expect, it } from 'vitest';
import type { TranscriptFields } from '../../src/interview-record/answer.schema.js';
import {
  answerBudgetBytes,
  boundTranscript,
  PAUSE_OVERHEAD_BYTES,
  SEGMENT_OVERHEAD_BYTES,
} from '../../src/transcription/transcript-bounds.js';
import { truncateUtf8 } from '../../src/common/utf8.js';

const fields = (transcript: string, segments: TranscriptFields['segments'] = null): TranscriptFields => ({
  transcript,
  language: 'en',
  duration_seconds: 10,
  segments,
  speech: null,
  no_speech: false,
  suspect_hallucination: false,
});

describe('truncateUtf8', () => {
  it('keeps a text within the bytes whole', () => {
    expect(truncateUtf8('hello', 5)).toBe('hello');
  });
  it('cuts at the byte bound', () => {
    expect(truncateUtf8('hello world', 5)).toBe('hello');
  });
  it('never splits a character: two-, three- and four-byte ones are kept whole or left out', () => {
    expect(truncateUtf8('aé', 2)).toBe('a'); // é is 2 bytes
    expect(truncateUtf8('aé', 3)).toBe('aé');
    expect(truncateUtf8('a€b', 3)).toBe('a'); // € is 3 bytes
    expect(truncateUtf8('a€b', 4)).toBe('a€');
    expect(truncateUtf8('😀😀', 7)).toBe('😀'); // 4 bytes each
    expect(truncateUtf8('😀😀', 3)).toBe('');
    for (let n = 0; n <= 12; n++) {
      const cut = truncateUtf8('ü€😀x', n);
      expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(n);
      expect(cut).not.toContain('\uFFFD');
      expect('ü€😀x'.startsWith(cut)).toBe(true);
    }
  });
});

describe('answerBudgetBytes', () => {
  it('shares the session budget evenly, at most the per-answer bound', () => {
    const bounds = { answerMaxBytes: 262_144, sessionMaxBytes: 524_288 };
    expect(answerBudgetBytes(bounds, 1)).toBe(262_144);
    expect(answerBudgetBytes(bounds, 2)).toBe(262_144);
    expect(answerBudgetBytes(bounds, 8)).toBe(65_536);
    expect(answerBudgetBytes(bounds, 200)).toBe(2621);
  });
});

describe('boundTranscript', () => {
  it('leaves a result within the budget as it is, without flags', () => {
    const result = fields('short', [{ start: 0, end: 1, text: 'short' }]);
    expect(boundTranscript(result, 1000)).toEqual(result);
  });

  it('stores the beginning of a longer transcript and flags the cut', () => {
    const bounded = boundTranscript(fields('word '.repeat(100)), 42);
    expect(bounded.transcript).toBe('word '.repeat(8) + 'wo');
    expect(bounded.transcript_truncated).toBe(true);
    expect(bounded.segments_truncated).toBeUndefined();
    expect(bounded.language).toBe('en');
  });

  it('keeps segments from the start while they fit, and flags the ones left out', () => {
    const segments = Array.from({ length: 10 }, (_, i) => ({ start: i, end: i + 1, text: 'x'.repeat(36) }));
    const bounded = boundTranscript(fields('x', segments), 3 * (36 + SEGMENT_OVERHEAD_BYTES) + 50);
    expect(bounded.segments).toEqual(segments.slice(0, 3));
    expect(bounded.segments_truncated).toBe(true);
    expect(bounded.transcript_truncated).toBeUndefined();
  });
});

describe('boundTranscript and measured pauses', () => {
  it('keeps the first pauses that fit and flags the rest', () => {
    const pauses = Array.from({ length: 100 }, (_, i) => ({ start: i, end: i + 0.5 }));
    const speech = { duration_seconds: 100, speech_seconds: 50, pauses };
    const bounded = boundTranscript({ ...fields('x'), speech }, 10 * PAUSE_OVERHEAD_BYTES);
    expect(bounded.speech).toEqual({ ...speech, pauses: pauses.slice(0, 10) });
    expect(bounded.pauses_truncated).toBe(true);
    expect(boundTranscript({ ...fields('x'), speech }, 100 * PAUSE_OVERHEAD_BYTES)).toEqual({ ...fields('x'), speech });
  });
});
