import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { vocabularyTermProblem } from '../../src/common/hint-terms.js';
import { QuestionInputDto } from '../../src/sessions/dto/create-session.dto.js';

/** The sentence a question with this vocabulary is refused with, or null when it is taken. */
function refusal(vocabulary: unknown): string | null {
  const question = plainToInstance(QuestionInputDto, { text: 'Q?', vocabulary });
  const [error] = validateSync(question, { stopAtFirstError: true });
  return error ? Object.values(error.constraints ?? {})[0] : null;
}

describe('vocabulary terms', () => {
  it.each([
    ['GridFS'],
    ['Standard Webhooks'],
    ['C#'],
    ['🎤 Mikrofon'],
    ['👩‍💻'],
    ['שלום'],
    ['abc\u202edcba'],
    ['zero\u200bwidth'],
    ['x'.repeat(60)],
  ])('takes %j', (term) => {
    expect(vocabularyTermProblem(term)).toBeNull();
    expect(refusal([term])).toBeNull();
  });

  it.each([
    ['List<T>', 'must not contain "<" or ">"'],
    ['a\nb', 'must be a single line'],
    ['a\u2028b', 'must be a single line'],
    ['a\u0085b', 'must be a single line'],
    ['a\tb', 'must not contain control characters'],
    ['a\u007fb', 'must not contain control characters'],
    ['\ud83c', 'must be well-formed Unicode'],
    ['\udc00x', 'must be well-formed Unicode'],
    [' \t ', 'must not be empty or blank'],
    ['x'.repeat(61), 'is 61 characters long; a term must be at most 60'],
  ])('refuses %j', (term, rule) => {
    expect(vocabularyTermProblem(term)).toContain(rule);
  });

  it('names the first term refused, escaped so that the sentence stays one readable line', () => {
    expect(refusal(['ok', 'List<T>', 'a\nb'])).toBe(
      'vocabulary term "List<T>" must not contain "<" or ">": transcription providers refuse them in keywords; write the term as it is spoken',
    );
    expect(refusal(['a\u2028b'])).toBe(
      'vocabulary term "a\\u2028b" must be a single line: transcription providers refuse keywords with line breaks',
    );
    expect(refusal(['ok', '  '])).toBe('vocabulary terms must not be empty or blank; term 2 is "  "');
    // a long term is quoted cut, never in the middle of an emoji
    const message = refusal(['🎤'.repeat(60)])!;
    expect(message).toMatch(/^vocabulary term "(🎤)+…" is 120 characters long; a term must be at most 60$/);
  });
});
