import { describe, expect, it } from 'vitest';
import { verbatimSpan } from '../../src/analysis/evidence.js';

const transcript =
  'Well, an index is a data structure that speeds up lookups. It costs extra writes and storage, so don’t overdo it.';

describe('verbatimSpan', () => {
  it("returns the transcript's own words for a quote that differs only in case, spacing and punctuation", () => {
    expect(verbatimSpan(transcript, 'an index is a data structure')).toBe('an index is a data structure');
    expect(verbatimSpan(transcript, 'SPEEDS UP   LOOKUPS')).toBe('speeds up lookups');
    expect(verbatimSpan(transcript, 'lookups it costs extra writes')).toBe('lookups. It costs extra writes');
    expect(verbatimSpan(transcript, "so don't overdo it")).toBe('so don’t overdo it');
    expect(verbatimSpan(transcript, '"extra writes and storage,"')).toBe('extra writes and storage');
  });

  it('refuses an altered, invented, reordered or shortened-inside quote', () => {
    expect(verbatimSpan(transcript, 'an index is a data structure that speeds up reads')).toBeNull();
    expect(verbatimSpan(transcript, 'indexes make queries fast')).toBeNull();
    expect(verbatimSpan(transcript, 'speeds lookups up')).toBeNull();
    expect(verbatimSpan(transcript, 'an index is ... speeds up lookups')).toBeNull();
    expect(verbatimSpan(transcript, 'an index a data structure')).toBeNull();
    expect(verbatimSpan(transcript, '')).toBeNull();
    expect(verbatimSpan(transcript, '...')).toBeNull();
    expect(verbatimSpan('', 'anything')).toBeNull();
  });
});
