/** At most this many terms per question, each at most this many characters (UTF-16 units). */
export const MAX_VOCABULARY_TERMS = 40;
export const MAX_VOCABULARY_TERM_CHARS = 60;

/** Half of a UTF-16 surrogate pair without its other half: no character at all. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a term cannot go to a transcription provider as a hint, or null when it can. The rules are
 * the strictest of the providers this service speaks: OpenAI's documentation for gpt-transcribe
 * says keywords are single-line strings without "<" or ">" (a request with another is refused
 * with a 400, and re-recording cannot help); whisper-style servers read the terms inside a prompt,
 * where a control character or a lone surrogate only garbles it.
 */
export function vocabularyTermProblem(term: string): string | null {
  if (term.trim() === '') return 'must not be empty or blank';
  if (term.length > MAX_VOCABULARY_TERM_CHARS) {
    return `is ${term.length} characters long; a term must be at most ${MAX_VOCABULARY_TERM_CHARS}`;
  }
  if (/[\n\r\u0085\u2028\u2029]/.test(term)) {
    return 'must be a single line: transcription providers refuse keywords with line breaks';
  }
  if (/[<>]/.test(term)) {
    return 'must not contain "<" or ">": transcription providers refuse them in keywords; write the term as it is spoken';
  }
  if (/\p{Cc}/u.test(term)) return 'must not contain control characters (such as a tab or NUL)';
  if (LONE_SURROGATE.test(term)) return 'must be well-formed Unicode (it holds half of a surrogate pair)';
  return null;
}
