/**
 * Edits `.env` text in place: sets or removes variables while every other byte (comments,
 * blank lines, ignored lines, order, BOM, line endings) stays as it was. Pairs are found with
 * ./parse.ts, which reads exactly as `dotenv.parse` (dotenv 18.0.10) does; values are
 * encoded with ./format.ts.
 *
 * Decisions:
 * - A key that occurs more than once is updated at EVERY occurrence (and removed at every
 *   occurrence). dotenv uses the last one, but other readers (first-wins parsers, shells)
 *   would otherwise see a stale, possibly leaked, old secret.
 * - An update rewrites only the pair's value: `export `, the key, the separator and spacing
 *   before the value are kept, and so is everything after the value on its line (an inline
 *   `# comment`). When that prefix spans lines (e.g. `KEY=` then the quoted value on the next
 *   line) it is rewritten as `KEY=` or `export KEY=`.
 * - New keys are appended at the end, in the order given, after a line break if the text
 *   does not end with one.
 * - The file's line ending (the first one found: CRLF, CR or LF; LF when there is none) is
 *   used for appended lines and for line breaks inside multi-line values.
 * - Every edit is checked by parsing the result: it must read as the old map with the
 *   change applied. When the preferred quoting fails that check (odd neighbouring text), the
 *   next one is tried; when none passes, a CofferError is thrown and nothing is returned.
 *
 * Not done here: no file I/O or locking, no variable expansion, no reordering or
 * de-duplicating, no comment handling beyond keeping comments where they are.
 */
import { CofferError } from '../errors.js';
import {
  assertDotenvKey,
  assertDotenvReadableKey,
  dotenvValueEncodings,
  unencodable,
} from './format.js';
import { type DotenvEntry, type DotenvPairEntry, parseDotenv, parseDotenvLines } from './parse.js';

/** Line terminators as JavaScript regexes (and so dotenv's `$` and `.`) see them. */
const TERMINATOR = /[\n\r\u2028\u2029]/;
/** Whitespace up to the end of the line (sticky: read from `lastIndex`, copying nothing). */
const SPACES = /[^\S\n\r\u2028\u2029]*/y;

/** The first line ending in `text`, or LF when it has none. */
function lineEnding(text: string): string {
  const m = /\r\n|\r|\n/.exec(text);
  return m?.[0] ?? '\n';
}

/** Do two parsed maps hold the same keys and values? */
function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  return ak.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/**
 * Where a pair's new value goes: the range [from, to) of `text` it replaces and the text put
 * there (`<prefix><encoded>`).
 */
function replacement(
  text: string,
  e: DotenvPairEntry,
  key: string,
  encoded: string,
  eol: string,
): [number, string, number] {
  const value = encoded.replace(/\n/g, eol);
  let head = text.slice(e.start, e.valueStart);
  if (TERMINATOR.test(head)) head = `${e.exported ? 'export ' : ''}${key}=`;
  let at = e.valueEnd;
  if (e.valueStart === e.valueEnd && value !== '') {
    // The old value was empty: put the new one after the spaces that follow the separator
    // (`KEY = ` -> `KEY = v`), keeping one space before an inline comment.
    SPACES.lastIndex = at;
    const spaces = SPACES.exec(text)?.[0].length ?? 0;
    const keep = text[at + spaces] === '#' ? Math.max(spaces - 1, 0) : spaces;
    head += text.slice(at, at + keep);
    at += keep;
  }
  return [e.start, head + value, at];
}

/** `text` with each pair of `key` rewritten as `<prefix><encoded>`, everything else kept. */
function replacePairs(
  text: string,
  pairs: readonly DotenvPairEntry[],
  key: string,
  encoded: string,
  eol: string,
): string {
  let out = '';
  let cursor = 0;
  for (const e of pairs) {
    const [from, piece, to] = replacement(text, e, key, encoded, eol);
    out += text.slice(cursor, from) + piece;
    cursor = to;
  }
  return out + text.slice(cursor);
}

/** `text` with `KEY=<encoded>` appended on a line of its own. */
function appendPair(text: string, key: string, encoded: string, eol: string): string {
  const sep = text === '' || /[\r\n]$/.test(text) ? '' : eol;
  return `${text}${sep}${key}=${encoded.replace(/\n/g, eol)}${eol}`;
}

/**
 * Validates every key and value up front, so a refusal never leaves a half-made edit. A key
 * the text has already needs only to be one dotenv reads (`spring.datasource.password`):
 * its value is replaced in place; a key that is added must be a variable name.
 */
function checkUpdates(
  updates: Readonly<Record<string, string>>,
  present: ReadonlySet<string>,
): [string, string[]][] {
  if (typeof updates !== 'object' || updates === null) {
    throw new TypeError('the updates must be an object');
  }
  return Object.keys(updates).map((key) => {
    if (present.has(key)) assertDotenvReadableKey(key);
    else assertDotenvKey(key);
    const encodings = dotenvValueEncodings(updates[key] as string);
    if (encodings.length === 0) throw unencodable(key);
    return [key, encodings];
  });
}

/**
 * Sets variables in `.env` text: existing keys are updated in place (every occurrence),
 * new keys are appended; every unrelated byte is kept. The result reads, with
 * `dotenv.parse`, as the old map with `updates` applied.
 *
 * Linear in the size of the text plus the updates: the text is parsed once, every update is
 * placed in one pass (pairs indexed by key) with each value's preferred quoting, and the
 * result is parsed once to check it. Only when that check fails (odd neighbouring text, where
 * a preferred quoting changes how another line reads) are the keys edited one at a time,
 * each trying its next quoting, as `setDotenvVariablesStepwise` does; both give the same
 * text whenever the one-pass edit passes (edit.test.ts compares them on generated files).
 *
 * @throws CofferError INVALID_ARGUMENT for a key dotenv cannot read back, INVALID_VALUE for a
 *   value no quoting carries or that cannot be placed without changing how other lines read.
 *   All values are checked before any edit; messages name keys, never values.
 * @example
 * ```ts
 * setDotenvVariables('# db\nexport A=1 # one\n', { A: 'x y', B: '2' });
 * // "# db\nexport A='x y' # one\nB=2\n"
 * ```
 */
export function setDotenvVariables(
  text: string,
  updates: Readonly<Record<string, string>>,
): string {
  if (typeof text !== 'string') throw new TypeError('the dotenv text must be a string');
  const entries = parseDotenvLines(text);
  const before = mapOf(entries);
  const plan = checkUpdates(updates, new Set(Object.keys(before)));
  const eol = lineEnding(text);
  const encoded = new Map<string, string>();
  for (const [key, encodings] of plan) encoded.set(key, encodings[0] as string);
  // Every pair of an updated key, in text order, rewritten in one pass.
  const pairs = entries.filter(
    (e: DotenvEntry): e is DotenvPairEntry => e.kind === 'pair' && encoded.has(e.key),
  );
  let out = '';
  let cursor = 0;
  for (const e of pairs) {
    const [from, piece, to] = replacement(text, e, e.key, encoded.get(e.key) as string, eol);
    out += text.slice(cursor, from) + piece;
    cursor = to;
  }
  out += text.slice(cursor);
  // New keys go after the last line, as appendPair puts them, built apart so the (possibly
  // large) text is not searched again for each one.
  let added = '';
  for (const [key, enc] of encoded) {
    if (!Object.hasOwn(before, key)) added = appendPair(added, key, enc, eol);
  }
  if (added !== '') out += (out === '' || /[\r\n]$/.test(out) ? '' : eol) + added;
  const want = {
    ...before,
    ...Object.fromEntries(plan.map(([key]) => [key, updates[key] as string])),
  };
  if (sameMap(parseDotenv(out), want)) return out;
  return setDotenvVariablesStepwise(text, updates);
}

/** The pairs' map as `parseDotenv` gives it (the last occurrence of a key wins). */
function mapOf(entries: readonly DotenvEntry[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) if (e.kind === 'pair') out[e.key] = e.value;
  return out;
}

/**
 * The key-by-key edit: each key in turn, each of its quotings in turn, the whole text parsed
 * again for each try. Exact for odd text, but O(keys x text): only the fallback of
 * `setDotenvVariables`, and the oracle its tests compare it with.
 */
export function setDotenvVariablesStepwise(
  text: string,
  updates: Readonly<Record<string, string>>,
): string {
  if (typeof text !== 'string') throw new TypeError('the dotenv text must be a string');
  const plan = checkUpdates(updates, new Set(Object.keys(parseDotenv(text))));
  const eol = lineEnding(text);
  let current = text;
  let expected = parseDotenv(text);
  for (const [key, encodings] of plan) {
    const want = { ...expected, [key]: updates[key] as string };
    const pairs = parseDotenvLines(current).filter(
      (e: DotenvEntry): e is DotenvPairEntry => e.kind === 'pair' && e.key === key,
    );
    let next: string | undefined;
    for (const enc of encodings) {
      const candidate =
        pairs.length > 0
          ? replacePairs(current, pairs, key, enc, eol)
          : appendPair(current, key, enc, eol);
      if (sameMap(parseDotenv(candidate), want)) {
        next = candidate;
        break;
      }
    }
    if (next === undefined) {
      throw new CofferError(
        'INVALID_VALUE',
        `cannot set ${key} in this .env file without changing how other lines read`,
        { hint: 'Check the lines around it for unterminated quotes, or rewrite the file.' },
      );
    }
    current = next;
    expected = want;
  }
  return current;
}

/** The range to delete for a pair: its whole line(s), with the inline comment and line break. */
function pairLineRange(text: string, e: DotenvPairEntry): [number, number] {
  // Only whitespace can precede a pair on its line (dotenv's regex starts at a line start).
  let from = e.start;
  while (from > 0 && !TERMINATOR.test(text[from - 1] ?? '')) from--;
  if (text.slice(from, e.start).trim() !== '') from = e.start;
  if (from === 0 && text.startsWith('\uFEFF')) from = 1; // keep the BOM
  let to = e.valueEnd;
  while (to < text.length && /\s/.test(text[to] ?? '') && !TERMINATOR.test(text[to] ?? '')) to++;
  if (text[to] === '#') while (to < text.length && !TERMINATOR.test(text[to] ?? '')) to++;
  if (to < text.length && !TERMINATOR.test(text[to] ?? '')) return [e.start, e.valueEnd];
  if (text.startsWith('\r\n', to)) return [from, to + 2];
  return [from, Math.min(to + 1, text.length)];
}

/**
 * Removes variables from `.env` text: every occurrence of each key goes, with the rest of
 * its line (inline comment, line break); comments on other lines and every unrelated byte
 * are kept. Keys that are not present are ignored.
 *
 * @throws CofferError INVALID_ARGUMENT for a key dotenv cannot read, INVALID_VALUE when
 *   removing the lines would change how other lines read (e.g. a bare `NAME` line above
 *   and a `=value` line below the removed one would join into a new pair).
 * @example
 * ```ts
 * removeDotenvVariables('A=1 # one\nB=2\n', ['A']); // "B=2\n"
 * ```
 */
export function removeDotenvVariables(text: string, keys: readonly string[]): string {
  if (typeof text !== 'string') throw new TypeError('the dotenv text must be a string');
  if (!Array.isArray(keys)) throw new TypeError('the keys must be an array');
  for (const key of keys) assertDotenvReadableKey(key);
  const drop = new Set(keys);
  let out = '';
  let cursor = 0;
  for (const e of parseDotenvLines(text)) {
    if (e.kind !== 'pair' || !drop.has(e.key)) continue;
    const [from, to] = pairLineRange(text, e);
    out += text.slice(cursor, Math.max(cursor, from));
    cursor = Math.max(cursor, to);
  }
  out += text.slice(cursor);
  const before = parseDotenv(text);
  const want = { ...before };
  for (const key of drop) delete want[key];
  if (!sameMap(parseDotenv(out), want)) {
    const names = [...drop].filter((k) => Object.hasOwn(before, k)).join(', ');
    throw new CofferError(
      'INVALID_VALUE',
      `cannot remove ${names} from this .env file without changing how other lines read`,
      { hint: 'Check the lines around it for unterminated quotes, or rewrite the file.' },
    );
  }
  return out;
}
