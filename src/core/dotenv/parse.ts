/**
 * Reads `.env` text exactly as the `dotenv` npm package's default parser does (`dotenv.parse`
 * without options: the regex parser, checked against dotenv 18.0.10's dist/index.cjs; dotenv
 * 16 and 17 have the same regex in https://github.com/motdotla/dotenv/blob/master/lib/main.js,
 * and dotenv 18's opt-in `{ fast: true }` scanner is not followed). We reuse its line regex
 * verbatim, only adding capture groups (which never change what matches) so that every pair
 * also carries its source offsets for in-place editing.
 *
 * dotenv's rules, all reproduced on purpose (differential tests compare us with dotenv):
 * - CR LF and lone CR become LF before parsing; `export ` before a key is skipped.
 * - Keys are `[A-Za-z0-9_.-]+`; the separator is `=` (spaces around it allowed) or `: `.
 * - A value is single-, double- or backtick-quoted (may span lines, `\'`-style escapes only
 *   stop the closing quote from matching and stay in the value) or unquoted up to `#` or the
 *   end of the line, then trimmed. Only double-quoted values turn `\n` and `\r` into LF, CR.
 * - Lines that do not match are ignored; the last occurrence of a key wins.
 * - A leading BOM (U+FEFF) is whitespace to JavaScript's `\s`, so it is skipped, and it is
 *   also trimmed from both ends of unquoted values (`A=\uFEFFx` reads as `x`). Odd, but it is
 *   what dotenv does, so we match it.
 * - Keys are assigned to a plain object, so `__proto__=...` is dropped (assigning a string to
 *   `__proto__` is a no-op), exactly as dotenv drops it.
 *
 * Not done here: no file I/O, no variable expansion (`$VAR`), no dotenv `fast` parser mode,
 * no decryption (dotenvx), no reading of Buffers in other encodings.
 */

/**
 * dotenv's line regex with capture groups: 1 `export` prefix, 2 key, 3 separator, 4 raw value.
 * `d` adds match indices; `(?:^|^)` / `(?:$|$)` in dotenv's source are the same as `^` / `$`.
 */
const LINE =
  /^\s*(export\s+)?([\w.-]+)(\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?$/dgm;

/**
 * The same pattern, tried at one position (`y`). dotenv runs LINE as a global search, which
 * restarts at every line start: at each line start of a run of blank lines `^\s*` swallows
 * the rest of the run before failing, so a file of n blank lines costs n^2 steps (100 KB of
 * them took 18 s). `lineMatches` finds the same matches in linear time.
 */
const LINE_AT = new RegExp(LINE.source, 'dmy');
const SPACES = /\s*/y;

/** Whether a line starts at `i` in `text` (as `^` with the `m` flag sees it). */
function isLineStart(text: string, i: number): boolean {
  if (i === 0) return true;
  const c = text.charCodeAt(i - 1);
  return c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;
}

/** The first line start at or after `from`, or undefined past the end. */
function lineStartFrom(text: string, from: number): number | undefined {
  for (let i = from; i <= text.length; i++) if (isLineStart(text, i)) return i;
  return undefined;
}

/**
 * Every match of the global LINE search over `text`, in order, in linear time. A failed try
 * at a line start fails at every other line start up to the end of its whitespace run: `\s*`
 * may only end where the key begins, and inside the run there is no key, so each of them
 * comes down to the same try at the run's end. Those line starts are skipped.
 */
function* lineMatches(text: string): Generator<RegExpExecArray> {
  let at = lineStartFrom(text, 0);
  while (at !== undefined) {
    LINE_AT.lastIndex = at;
    const m = LINE_AT.exec(text);
    if (m !== null) {
      yield m;
      at = lineStartFrom(text, LINE_AT.lastIndex);
    } else {
      SPACES.lastIndex = at;
      SPACES.exec(text);
      at = lineStartFrom(text, SPACES.lastIndex + 1);
    }
  }
}

/** dotenv strips one pair of matching quotes; with the `m` flag it may do so per line. */
const QUOTED = /^(['"`])([\s\S]*)\1$/gm;

/** A `KEY=value` pair as dotenv reads it, with offsets into the original text. */
export interface DotenvPairEntry {
  readonly kind: 'pair';
  readonly key: string;
  /** The value exactly as `dotenv.parse` returns it. */
  readonly value: string;
  /** Offset of `export` when present, else of the key. */
  readonly start: number;
  /** Offset just past the raw value (after its closing quote), i.e. `valueEnd`. */
  readonly end: number;
  /** Whether the pair starts with an `export` prefix. */
  readonly exported: boolean;
  /** Offsets of the raw value (quotes included, surrounding whitespace excluded). */
  readonly valueStart: number;
  readonly valueEnd: number;
  /** The source text from `start` to `end`. */
  readonly raw: string;
}

/** Any text between pairs: blank lines, comments, indentation, ignored lines, inline comments. */
export interface DotenvOtherEntry {
  readonly kind: 'other';
  readonly start: number;
  readonly end: number;
  readonly raw: string;
}

export type DotenvEntry = DotenvPairEntry | DotenvOtherEntry;

/** dotenv's value post-processing: trim, strip one pair of quotes, expand `\n` `\r` in `"`. */
function cookValue(raw: string): string {
  let value = raw.trim();
  const quote = value[0];
  value = value.replace(QUOTED, '$2');
  if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\r/g, '\r');
  return value;
}

/** Offsets of leading / trailing `\s` in a string (the same set `trim` removes). */
function leadingSpace(s: string): number {
  return s.length - s.trimStart().length;
}

/**
 * Maps offsets in the CR-normalised text back to the original text. `map[i]` is where
 * normalised character `i` starts in the original; `map[length]` is the original length.
 */
function offsetMap(original: string): ((i: number) => number) | undefined {
  if (!original.includes('\r')) return undefined;
  const map: number[] = [];
  for (let i = 0; i < original.length; i++) {
    map.push(i);
    if (original[i] === '\r' && original[i + 1] === '\n') i++;
  }
  map.push(original.length);
  return (i) => map[i] ?? original.length;
}

/** The CR-normalised text dotenv actually matches against. */
function normalizeNewlines(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

/**
 * Splits `.env` text into pairs (exactly those `dotenv.parse` sees, duplicates included, in
 * order) and the other text between them. The `raw` of the entries concatenate to `text`, so
 * an editor can replace one pair's slice and keep every other byte.
 *
 * @example
 * ```ts
 * parseDotenvLines('# db\nexport A=1 # one\n').map((e) => e.kind); // other, pair, other
 * ```
 */
export function parseDotenvLines(text: string): DotenvEntry[] {
  if (typeof text !== 'string') throw new TypeError('the dotenv text must be a string');
  const norm = normalizeNewlines(text);
  const toOriginal = offsetMap(text) ?? ((i: number): number => i);
  const entries: DotenvEntry[] = [];
  let cursor = 0;
  const pushOther = (end: number): void => {
    if (end > cursor)
      entries.push({ kind: 'other', start: cursor, end, raw: text.slice(cursor, end) });
  };
  for (const m of lineMatches(norm)) {
    const ix = m.indices;
    const keyAt = ix?.[2];
    const sepAt = ix?.[3];
    const key = m[2];
    if (keyAt === undefined || sepAt === undefined || key === undefined) continue;
    const exportAt = ix?.[1];
    const rawValue = m[4] ?? '';
    const valueAt = ix?.[4];
    let valueStart = sepAt[1];
    let valueEnd = sepAt[1];
    if (valueAt !== undefined && rawValue.trim() !== '') {
      valueStart = valueAt[0] + leadingSpace(rawValue);
      valueEnd = valueAt[0] + rawValue.trimEnd().length;
    }
    const start = toOriginal(exportAt?.[0] ?? keyAt[0]);
    const end = toOriginal(valueEnd);
    pushOther(start);
    entries.push({
      kind: 'pair',
      key,
      value: cookValue(rawValue),
      start,
      end,
      exported: exportAt !== undefined,
      valueStart: toOriginal(valueStart),
      valueEnd: end,
      raw: text.slice(start, end),
    });
    cursor = end;
  }
  pushOther(text.length);
  return entries;
}

/**
 * Parses `.env` text into a key → value map, returning exactly what `dotenv.parse(text)`
 * (dotenv 18.0.10, default parser) returns for the same string.
 *
 * @example
 * ```ts
 * parseDotenv('export A=1\nB="two\\nlines" # note\n'); // { A: '1', B: 'two\nlines' }
 * ```
 */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of parseDotenvLines(text)) {
    // A plain object and plain assignment, like dotenv: `__proto__` is dropped the same way.
    if (e.kind === 'pair') out[e.key] = e.value;
  }
  return out;
}
