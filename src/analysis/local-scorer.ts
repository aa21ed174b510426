/**
 * A deterministic scorer that measures how much of the model answer a transcript covers.
 *
 * Method: both texts are reduced to their content terms (lower-cased words and numbers, common
 * English function words removed, plural/-ing/-ed/-ly endings stripped). The score is the F2 measure
 * of the transcript's terms against the model answer's: recall (share of the model answer's terms
 * the candidate said) weighs four times as much as precision (share of the candidate's terms that
 * belong to the model answer), so covering the key points matters most and padding costs a little.
 * Without a model answer the question's own terms are the reference, which measures relevance only.
 */

export interface LocalScore {
  score: number;
  feedback: string[];
}

export const STOPWORDS = new Set(
  (
    'a an and are as at be been being but by can could did do does doing done for from had has have having he her hers ' +
    'him his how i if in into is it its itself just me more most my no nor not of off on once only or other our ours out ' +
    'over own same she should so some such than that the their theirs them then there these they this those through to ' +
    'too under until up very was we were what when where which while who whom why will with would you your yours ' +
    'also about after again against all am any because before below between both down during each few further here ' +
    'let lets like may might must really shall us use used uses using well yes um uh okay ok yeah think know mean'
  ).split(' '),
);

export function stem(word: string): string {
  if (word.length > 5 && word.endsWith('ies')) return word.slice(0, -3) + 'y';
  for (const suffix of ['ing', 'ed', 'ly', 'es', 's']) {
    if (word.length - suffix.length >= 3 && word.endsWith(suffix) && !word.endsWith('ss')) {
      return word.slice(0, -suffix.length);
    }
  }
  return word;
}

/** Content terms in order of first appearance. */
export function contentTerms(text: string): string[] {
  const seen = new Set<string>();
  for (const match of text.toLowerCase().matchAll(/[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu)) {
    const word = match[0].replace(/'.*$/, '');
    if (word.length < 2 || STOPWORDS.has(word)) continue;
    seen.add(stem(word));
  }
  return [...seen];
}

function wordCount(text: string): number {
  return text.match(/[\p{L}\p{N}]+/gu)?.length ?? 0;
}

export interface KeyTermCoverage {
  /** 0–100, the F2 measure described above; null when there is nothing to compare against. */
  score: number | null;
  found: string[];
  missed: string[];
  against: 'the model answer' | 'the question';
  words: number;
}

/** Which of the reference's key terms the transcript has, and the score they make. */
export function keyTermCoverage(question: string, modelAnswer: string, transcript: string): KeyTermCoverage {
  const hasModel = modelAnswer.trim().length > 0;
  const reference = contentTerms(hasModel ? modelAnswer : question);
  const said = contentTerms(transcript);
  const saidSet = new Set(said);
  const found = reference.filter((term) => saidSet.has(term));
  const missed = reference.filter((term) => !saidSet.has(term));
  const against = hasModel ? 'the model answer' : 'the question';
  const words = wordCount(transcript);
  if (reference.length === 0) return { score: null, found, missed, against, words };
  const recall = found.length / reference.length;
  const precision = said.length ? found.length / said.length : 0;
  const f2 = recall + precision === 0 ? 0 : (5 * precision * recall) / (4 * precision + recall);
  return { score: words === 0 ? 0 : Math.round(100 * f2), found, missed, against, words };
}

export function scoreLocally(question: string, modelAnswer: string, transcript: string): LocalScore {
  const hasModel = modelAnswer.trim().length > 0;
  const reference = contentTerms(hasModel ? modelAnswer : question);
  const said = contentTerms(transcript);
  const words = wordCount(transcript);
  if (words === 0) return { score: 0, feedback: ['The recording contains no recognisable speech.'] };
  if (reference.length === 0) {
    return {
      score: 50,
      feedback: ['There is no model answer or question content to compare against; scored neutrally.'],
    };
  }
  const saidSet = new Set(said);
  const covered = reference.filter((term) => saidSet.has(term));
  const recall = covered.length / reference.length;
  const precision = said.length ? covered.length / said.length : 0;
  const f2 = recall + precision === 0 ? 0 : (5 * precision * recall) / (4 * precision + recall);
  const score = Math.round(100 * f2);

  const feedback: string[] = [];
  const against = hasModel ? 'the model answer' : 'the question';
  feedback.push(`Covered ${covered.length} of ${reference.length} key terms from ${against}.`);
  const missing = reference.filter((term) => !saidSet.has(term)).slice(0, 5);
  if (missing.length > 0) feedback.push(`Not mentioned: ${missing.join(', ')}.`);
  if (words < 15) feedback.push(`The answer is short (${words} words); expand on it.`);
  if (said.length > 0 && precision < 0.2 && covered.length > 0) feedback.push('Much of the answer is off the point.');
  if (!hasModel) feedback.push('No model answer was given, so only relevance to the question was measured.');
  return { score, feedback };
}
