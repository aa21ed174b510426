import { STOPWORDS } from '../../analysis/local-scorer.js';
import { MAX_VOCABULARY_TERM_CHARS, MAX_VOCABULARY_TERMS, vocabularyTermProblem } from '../../common/hint-terms.js';
import type { TranscriptionCapabilities } from '../../common/model-capabilities.js';
import type { InterviewHints } from '../recording/transcription-task.js';

/** At most this many keywords go with one recording, each at most KEYWORD_CHARS long. */
export const MAX_KEYWORDS = MAX_VOCABULARY_TERMS;
const KEYWORD_CHARS = MAX_VOCABULARY_TERM_CHARS;
/** whisper reads only the last 224 tokens of a prompt: about this many characters. */
const MAX_PROMPT_CHARS = 600;

/**
 * A domain term: an acronym or a word with capitals inside (TCP, GridFS), with digits (S3, OAuth2),
 * joined (client-side, Node.js), or long (idempotent, Kubernetes). Short common words are left out.
 */
function isTerm(word: string): boolean {
  if (STOPWORDS.has(word.toLowerCase())) return false;
  return /.\p{Lu}/u.test(word) || /\p{N}/u.test(word) || /[-.+#]/.test(word) || word.length >= 7;
}

/** The bounded keyword list of one question: its own vocabulary, then terms of its text and model answer. */
export function interviewKeywords(question: {
  text: string;
  model_answer: string;
  vocabulary?: string[] | null;
}): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const add = (term: string) => {
    const trimmed = term.trim().slice(0, KEYWORD_CHARS);
    const key = trimmed.toLowerCase();
    if (!trimmed || seen.has(key) || found.length >= MAX_KEYWORDS) return;
    seen.add(key);
    found.push(trimmed);
  };
  // a term stored before the providers' rules were checked at creation is left out: sent, it
  // would only have the request refused
  for (const term of question.vocabulary ?? []) if (vocabularyTermProblem(term) === null) add(term);
  for (const text of [question.text, question.model_answer]) {
    for (const match of text.matchAll(/[\p{L}\p{N}](?:[\p{L}\p{N}+#]|[-.](?=[\p{L}\p{N}]))*/gu)) {
      if (isTerm(match[0])) add(match[0]);
    }
  }
  return found;
}

/** No hints: what a request is sent again with when a provider refused its hints. */
export const NO_HINTS: InterviewHints = { keywords: [], language: null, languages: [] };

/** Whether a request with these hints says anything a provider could refuse that NO_HINTS does not. */
export const hasHints = (hints: InterviewHints) =>
  hints.keywords.length > 0 || hints.language !== null || hints.languages.length > 0;

/** The hint parameters of one transcription request, as far as the model family takes them. */
export function hintParameters(
  capabilities: TranscriptionCapabilities,
  hints: InterviewHints,
): { keywords?: string[]; prompt?: string; language?: string; languages?: string[] } {
  const params: { keywords?: string[]; prompt?: string; language?: string; languages?: string[] } = {};
  if (hints.keywords.length > 0) {
    if (capabilities.keywords) params.keywords = hints.keywords;
    else if (capabilities.prompt) params.prompt = glossary(hints.keywords);
  }
  const language = hints.language ?? (hints.languages.length === 1 ? hints.languages[0] : null);
  if (language) params.language = language;
  else if (hints.languages.length > 1 && capabilities.languages) params.languages = hints.languages;
  return params;
}

/** Terms in a prompt, for a whisper-style model: it spells what it has read. */
function glossary(keywords: string[]): string {
  let prompt = 'Glossary:';
  for (const [i, term] of keywords.entries()) {
    const next = `${prompt}${i === 0 ? ' ' : ', '}${term}`;
    if (next.length > MAX_PROMPT_CHARS) break;
    prompt = next;
  }
  return `${prompt}.`;
}
