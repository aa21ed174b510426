import { ValidateBy, type ValidationOptions } from 'class-validator';
import { vocabularyTermProblem } from '../../common/hint-terms.js';

/** A term as a sentence can quote it: escaped (a newline shows as \n) and cut. */
const quoted = (term: string) => {
  const json = JSON.stringify(term);
  return json.length > 50 ? `${json.slice(0, 48)}…"` : json;
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
