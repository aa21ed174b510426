/**
 * Evidence quotes must be the candidate's own words. A quote is accepted when its words, compared
 * case-insensitively and ignoring punctuation and spacing (curly and straight apostrophes alike),
 * are a contiguous run of the transcript's words; the transcript's own text of that run is what is
 * stored. A changed, added, dropped or reordered word is refused.
 */

interface Token {
  word: string;
  start: number;
  end: number;
}

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu;

function tokens(text: string): Token[] {
  const normalised = text.normalize('NFKC');
  return [...normalised.matchAll(WORD)].map((m) => ({
    word: m[0].toLowerCase().replace(/’/g, "'"),
    start: m.index,
    end: m.index + m[0].length,
  }));
}

/** The transcript's own span that `quote` reproduces, or null when the quote is not verbatim. */
export function verbatimSpan(transcript: string, quote: string): string | null {
  const said = tokens(transcript);
  const quoted = tokens(quote);
  if (quoted.length === 0 || quoted.length > said.length) return null;
  const source = transcript.normalize('NFKC');
  outer: for (let i = 0; i + quoted.length <= said.length; i++) {
    for (let j = 0; j < quoted.length; j++) {
      if (said[i + j].word !== quoted[j].word) continue outer;
    }
    return source.slice(said[i].start, said[i + quoted.length - 1].end);
  }
  return null;
}

/** The words of `text` as the evidence check compares them (lower-cased, apostrophes alike). */
export function wordsOf(text: string): string[] {
  return tokens(text).map((t) => t.word);
}
