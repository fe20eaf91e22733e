/**
 * How text that may contain U+0000 is kept in PostgreSQL, whose `text` type cannot store the
 * NUL character (the server rejects it as an invalid byte sequence). The storage contract
 * promises that text columns round-trip any valid UTF-8, NUL included, so every text value
 * goes through this reversible escape on its way in and out:
 *
 *   U+0001 -> U+0001 U+0002        U+0000 -> U+0001 U+0001        anything else unchanged
 *
 * Properties the backend relies on (tested with fast-check in text-escape.test.ts):
 * - `unescapeText(escapeText(s)) === s` for every string;
 * - order-preserving: `a < b` exactly when `escapeText(a) < escapeText(b)`, so ORDER BY on a
 *   column with the "C" collation sorts as the unescaped values would (the same trick as
 *   FoundationDB's tuple encoding of 0x00);
 * - prefix-preserving: `a.startsWith(p)` exactly when `escapeText(a).startsWith(escapeText(p))`,
 *   so prefix filters can run on the stored form;
 * - identity on text without U+0000 and U+0001, i.e. on every real key path, description and
 *   timestamp: what an operator sees with psql is the value itself.
 *
 * It does not escape anything else: PostgreSQL stores every other code point as is.
 */

const NUL = '\u0000';
const ESC = '\u0001';

/** The stored form of `s` (see the module comment). */
export function escapeText(s: string): string {
  if (!s.includes(NUL) && !s.includes(ESC)) return s;
  let out = '';
  for (const ch of s) {
    if (ch === ESC) out += `${ESC}\u0002`;
    else if (ch === NUL) out += `${ESC}${ESC}`;
    else out += ch;
  }
  return out;
}

/**
 * The value of a stored string. A U+0001 that is not followed by U+0001 or U+0002 cannot come
 * from `escapeText` (a row edited by hand); it is kept as it is rather than refused.
 */
export function unescapeText(s: string): string {
  if (!s.includes(ESC)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const next = s[i + 1];
    if (ch === ESC && (next === ESC || next === '\u0002')) {
      out += next === ESC ? NUL : ESC;
      i++;
    } else {
      out += ch;
    }
  }
  return out;
}
