/**
 * How deep and how wide a JSON body may be. The longest real body (200 questions of three fields)
 * is 3 levels deep with about 800 entries; anything far beyond that is an attack on the code that
 * walks it (class-transformer recurses once per level and overflows the stack near 10,000 levels).
 */
export const JSON_MAX_DEPTH = 32;
export const JSON_MAX_ENTRIES = 10_000;

/** The body parser's error for a body over the bounds: a 400 with its own `type`. */
export class JsonBodyTooComplex extends Error {
  readonly status = 400;
  readonly type = 'entity.too.complex';
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'JsonBodyTooComplex';
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/**
 * Measures the raw bytes before they are parsed (one linear pass, no recursion): nesting depth,
 * and entries (object members plus array elements). Returns why the body is refused, or undefined.
 * Malformed JSON is left to the parser, which reports it.
 */
export function jsonComplexity(bytes: Uint8Array): string | undefined {
  let depth = 0;
  let entries = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > JSON_MAX_DEPTH) return `The request body is nested more than ${JSON_MAX_DEPTH} levels deep.`;
      if (++entries > JSON_MAX_ENTRIES) {
        return `The request body has more than ${JSON_MAX_ENTRIES} members and elements.`;
      }
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) depth--;
    // each comma starts one more member or element; each container counts for its first
    else if (byte === COMMA && ++entries > JSON_MAX_ENTRIES) {
      return `The request body has more than ${JSON_MAX_ENTRIES} members and elements.`;
    }
  }
  return undefined;
}

/** For express.json({ verify }): refuses an over-complex body before JSON.parse sees it. */
export function verifyJsonComplexity(_req: unknown, _res: unknown, bytes: Buffer): void {
  const reason = jsonComplexity(bytes);
  if (reason) throw new JsonBodyTooComplex(reason);
}
