import { ValidateBy, type ValidationOptions } from 'class-validator';
import { vocabularyTermProblem } from '../../common/hint-terms.js';

/** A term as a sentence can quote it: escaped (a newline shows as \n, U+2028 as \u2028) and cut. */
const quoted = (term: string) => {
  const json = JSON.stringify(term).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  const chars = Array.from(json); // whole characters: a cut never halves an emoji
  return chars.length > 50 ? `${chars.slice(0, 48).join('')}…"` : json;
};

/**
 * Every term of a vocabulary array is one a provider takes (vocabularyTermProblem); the refusal
 * names the first term that is not, and the rule it breaks.
 */
export function IsVocabulary(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isVocabulary',
      validator: {
        validate: (value: unknown) =>
          Array.isArray(value) && value.every((t) => typeof t === 'string' && vocabularyTermProblem(t) === null),
        defaultMessage: (args) => {
          const terms = Array.isArray(args?.value) ? (args.value as unknown[]) : [];
          const index = terms.findIndex((t) => typeof t !== 'string' || vocabularyTermProblem(t) !== null);
          const term = terms[index];
          if (typeof term !== 'string') return 'vocabulary must be an array of strings';
          const problem = vocabularyTermProblem(term)!;
          return term.trim() === ''
            ? `vocabulary terms must not be empty or blank; term ${index + 1} is ${quoted(term)}`
            : `vocabulary term ${quoted(term)} ${problem}`;
        },
      },
    },
    options,
  );
}
