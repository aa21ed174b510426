/**
 * A deterministic check for speech addressed to whoever grades the answer: requests for a score or a
 * level, the rubric's own words about levels, and attempts to override the grader's instructions.
 * English, German, French and Spanish. It is deliberately narrow (a phrase must name the grading, not
 * merely mention a score or an instruction), so that honest answers about credit scores, CPU
 * instructions or OSI layer four are not flagged; the model's own report covers other wordings.
 */

export interface EvaluatorSpeech {
  /** The language whose pattern matched (en, de, fr, es). */
  language: string;
  /** The words as said. */
  phrase: string;
}

const GRADE_EN = '(?:score|scores|mark|marks|grade|grades|points|rating|level)';
const PATTERNS: Array<[string, RegExp]> = [
  // English
  [
    'en',
    /\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+)?(?:previous\s+|prior\s+|above\s+|earlier\s+|grading\s+|system\s+)?(?:instructions?|rules|prompts?|rubric|criteria)\b/iu,
  ],
  [
    'en',
    new RegExp(
      `\\b(?:give|award|assign|grant)\\s+(?:me|this\\s+answer|this|my\\s+answer)\\s+(?:a\\s+|the\\s+)?(?:full|top|maximum|max|highest|perfect|best|high)\\s+${GRADE_EN}\\b`,
      'iu',
    ),
  ],
  ['en', /\bfull\s+marks\b/iu],
  [
    'en',
    /\b(?:deserves?|earns?|merits?|wants?|needs?|give\s+(?:me|it|this)|award|grant)\s+(?:it\s+|me\s+)?(?:the\s+|a\s+)?(?:perfect|maximum|top|highest)\s+(?:score|points|grade|rating|level)\b/iu,
  ],
  [
    'en',
    /\b(?:meets|satisfies|fulfils|fulfills|deserves|earns|reaches|merits)\s+(?:every|all|each)\s+(?:criteria|criterion|requirements?)\b/iu,
  ],
  [
    'en',
    /\b(?:deserves|earns|merits|reaches|rate\s+(?:it|this|me)|score\s+(?:it|this|me)|grade\s+(?:it|this|me)|mark\s+(?:it|this|me))\s+(?:at\s+)?(?:a\s+|the\s+)?(?:level\s+)?(?:4|four|five|5|ten|10|100|one\s+hundred)(?:\s+(?:out\s+of|of)\s+\w+)?\b/iu,
  ],
  ['en', /\bat\s+level\s+(?:4|four)\b/iu],
  [
    'en',
    /\b(?:dear|hello|hi|note\s+to\s+the|attention)\s+(?:grader|evaluator|examiner|assessor|reviewer|marker|ai|model|assistant|scorer)\b/iu,
  ],
  [
    'en',
    /\b(?:to|for)\s+the\s+(?:grader|evaluator|examiner|assessor|marker|scorer|ai\s+(?:grader|evaluator|model))\b/iu,
  ],
  [
    'en',
    /\b(?:answer|response)\s+(?:is|should\s+be|must\s+be)\s+(?:rated|scored|graded|marked)\s+(?:as\s+|at\s+)?(?:a\s+)?\w+/iu,
  ],
  // German
  [
    'de',
    /\b(?:ignorier(?:e|en)?|vergiss|vergessen\s+sie)\s+(?:bitte\s+)?(?:alle\s+|die\s+|deine\s+|ihre\s+)?(?:vorherigen\s+|bisherigen\s+|obigen\s+)?(?:anweisungen|regeln|vorgaben|instruktionen|kriterien)\b/iu,
  ],
  ['de', /\b(?:volle|höchste|maximale|beste)\s+(?:punktzahl|punkte|bewertung|note|stufe|punkten)\b/iu],
  ['de', /\b(?:stufe|niveau|level)\s+(?:4|vier)\b/iu],
  ['de', /\berfüllt\s+(?:alle|jedes|sämtliche)\s+(?:kriterien|kriterium|anforderungen)\b/iu],
  ['de', /\b(?:bewerte|bewerten\s+sie|benote|benoten\s+sie)\s+(?:diese|meine|die)\s+antwort\s+mit\b/iu],
  ['de', /\b(?:an\s+den|liebe[rs]?)\s+(?:prüfer|bewerter|gutachter|korrektor)\b/iu],
  // French
  [
    'fr',
    /\b(?:ignore[zr]?|oublie[zr]?)\s+(?:toutes\s+|les\s+|tes\s+|vos\s+)?(?:instructions|consignes|règles|critères)\b/iu,
  ],
  ['fr', /\b(?:note|score|points)\s+(?:maximale?|parfaite?|complète)\b/iu],
  ['fr', /\bniveau\s+(?:4|quatre)\b/iu],
  ['fr', /\b(?:cher|chère|au)\s+(?:correcteur|évaluateur|examinateur)\b/iu],
  // Spanish
  [
    'es',
    /\b(?:ignora|ignore|olvida|olvide)\s+(?:todas\s+|las\s+|tus\s+|sus\s+)?(?:instrucciones|reglas|criterios)\b/iu,
  ],
  ['es', /\b(?:puntuación|nota|calificación|puntaje)\s+(?:máxima|perfecta|completa|más\s+alta)\b/iu],
  ['es', /\bnivel\s+(?:4|cuatro)\b/iu],
  ['es', /\b(?:cumple|satisface)\s+(?:todos\s+los|cada)\s+criterios?\b/iu],
  ['es', /\b(?:querido|estimado|al)\s+(?:evaluador|calificador|examinador|corrector)\b/iu],
];

/**
 * The rubric's own descriptions of its upper levels (3 and 4) said in the answer: a candidate reciting
 * "Entirely correct. Every key point." is quoting the grading, not answering. Only descriptions of
 * three words or more count (a one-word level such as "good" is ordinary speech).
 */
export function rubricQuotes(text: string, levelDescriptions: string[]): EvaluatorSpeech[] {
  const said = ` ${words(text).join(' ')} `;
  const found: EvaluatorSpeech[] = [];
  for (const description of levelDescriptions) {
    const quoted = words(description);
    if (quoted.length >= 3 && said.includes(` ${quoted.join(' ')} `)) {
      found.push({ language: 'rubric', phrase: description });
    }
  }
  return found;
}

const words = (text: string) =>
  text
    .normalize('NFKC')
    .toLowerCase()
    .match(/[\p{L}\p{N}]+/gu) ?? [];

/** Every phrase of `text` that speaks to the grader, in the order said; empty when none. */
export function evaluatorSpeech(text: string): EvaluatorSpeech[] {
  const normalised = text.normalize('NFC');
  const found: Array<EvaluatorSpeech & { start: number; end: number }> = [];
  for (const [language, pattern] of PATTERNS) {
    const match = pattern.exec(normalised);
    if (!match) continue;
    const start = match.index;
    const end = start + match[0].length;
    // a phrase inside one already found (or around it) is the same words said once
    const overlapping = found.findIndex((f) => start < f.end && f.start < end);
    if (overlapping === -1) found.push({ language, phrase: match[0], start, end });
    else if (end - start > found[overlapping].end - found[overlapping].start) {
      found[overlapping] = { language, phrase: match[0], start, end };
    }
  }
  return found.sort((a, b) => a.start - b.start).map(({ language, phrase }) => ({ language, phrase }));
}
