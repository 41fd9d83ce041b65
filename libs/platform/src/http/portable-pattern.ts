const LAST_CODE_POINT = 0x10ffff;
/** Surrogates are not characters: Rust's and Go's engines cannot name them, and UTF-8 cannot carry them. */
const isSurrogate = (cp: number) => cp >= 0xd800 && cp <= 0xdfff;
const expanded = new Map<string, string>();

/**
 * A regex for a JSON Schema `pattern` that every engine reads the same way: each character class
 * using Unicode property escapes (`[^\p{Cc}\p{Cf}]`, which needs JavaScript's `u` flag and which
 * Python's `re`, Go's and most OpenAPI tools refuse) rewritten as the explicit ranges it matches,
 * BMP code points as `\uXXXX`, the rest as the characters themselves (surrogates left out).
 */
export function portablePattern(pattern: string): string {
  if (!/\\[pP]\{/.test(pattern)) return pattern;
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\') {
      if (pattern[i + 1] === 'p' || pattern[i + 1] === 'P') {
        // A property escape outside a class is a class of one.
        const end = pattern.indexOf('}', i);
        out += explicitClass(pattern.slice(i, end + 1));
        i = end;
      } else {
        out += pattern.slice(i, i + 2);
        i++;
      }
    } else if (pattern[i] === '[') {
      const end = classEnd(pattern, i);
      const body = pattern.slice(i + 1, end);
      out += /\\[pP]\{/.test(body) ? explicitClass(body) : pattern.slice(i, end + 1);
      i = end;
    } else out += pattern[i];
  }
  return out;
}

/** The index of the `]` closing the class opened at `start`. */
function classEnd(pattern: string, start: number): number {
  for (let i = start + 1; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === ']') return i;
  }
  throw new Error(`unclosed character class in ${pattern}`);
}

/** `[…]` with the code points a class body matches, as ranges (a leading `^` kept as negation). */
function explicitClass(body: string): string {
  const cached = expanded.get(body);
  if (cached) return cached;
  const negated = body.startsWith('^');
  const matches = new RegExp(`^[${negated ? body.slice(1) : body}]$`, 'u');
  let ranges = '';
  for (let cp = 0; cp <= LAST_CODE_POINT; cp++) {
    if (isSurrogate(cp) || !matches.test(String.fromCodePoint(cp))) continue;
    const first = cp;
    while (cp < LAST_CODE_POINT && !isSurrogate(cp + 1) && matches.test(String.fromCodePoint(cp + 1))) cp++;
    ranges += cp === first ? character(first) : `${character(first)}-${character(cp)}`;
  }
  const result = `[${negated ? '^' : ''}${ranges}]`;
  expanded.set(body, result);
  return result;
}

const character = (cp: number): string =>
  cp > 0xffff ? String.fromCodePoint(cp) : `\\u${cp.toString(16).padStart(4, '0')}`;
