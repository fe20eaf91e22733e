/**
 * Writes `KEY=value` lines that the `dotenv` npm package (`dotenv.parse`, dotenv 18.0.10's
 * default regex parser; see ./parse.ts) reads back as exactly the same strings.
 *
 * dotenv has no escape for quotes or backslashes, so each value gets the first quoting that
 * carries it unchanged, in this order:
 * 1. nothing, when the value is empty or has no whitespace, quote, `#`, `$`, `\` or control
 *    character (stricter than dotenv needs, so other .env readers agree too);
 * 2. single quotes (literal in dotenv, and not `$`-expanded by dotenvx-style tools), for
 *    one-line values without `'`;
 * 3. double quotes, writing LF as `\n` and CR as `\r` (the only escapes dotenv knows);
 * 4. single quotes, then backticks, around a value with literal line breaks;
 * 5. as a last resort, unquoted again under dotenv's own looser rule (no `#`, line break or
 *    surrounding whitespace, not starting with a quote), e.g. `C:\Program Files\`.
 * Inside quotes a quote character is only allowed right after a backslash (dotenv keeps the
 * backslash), and the value may not end with a backslash (it would escape the closing quote).
 * Every choice is checked by parsing it back before it is returned.
 *
 * Refused (CofferError INVALID_VALUE naming the key, never the value): values that no quoting
 * carries and that cannot go unquoted (they hold `#`, a line break or surrounding whitespace,
 * or start with a quote), and that also
 * - contain `'`, `"` and a backtick, each not right after a backslash, or
 * - end with a backslash, or
 * - contain a CR that double quotes cannot carry (there is also a bare `"`, or a literal
 *   backslash-n / backslash-r in the value).
 *
 * Not done here: no variable expansion, comments, ordering or file I/O.
 */
import { CofferError } from '../errors.js';
import { parseDotenv } from './parse.js';

/** The key syntax dotenv reads (`[\w.-]+`). */
const KEY_SYNTAX = /^[\w.-]+$/;

/** Values written without quotes: no whitespace, quotes, `#`, `$`, `\` or control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we exclude.
const BARE = /^[^\s'"`#$\\\x00-\x1f\x7f]+$/;

/**
 * Whether dotenv reads `key` back as itself: `[A-Za-z0-9_.-]+`, except `__proto__`, which
 * dotenv silently drops. Digits first and `.`/`-` are allowed because dotenv allows them.
 */
export function isDotenvKey(key: string): boolean {
  return typeof key === 'string' && KEY_SYNTAX.test(key) && key !== '__proto__';
}

/** Throws INVALID_ARGUMENT unless dotenv can read `key` back. */
export function assertDotenvKey(key: string): void {
  if (typeof key !== 'string') throw new TypeError('a dotenv key must be a string');
  if (!isDotenvKey(key)) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      key === '__proto__'
        ? 'the key __proto__ cannot be written to a .env file: dotenv ignores it'
        : `the key ${JSON.stringify(key)} cannot be written to a .env file`,
      { hint: 'dotenv keys use only letters, digits, _ . and - (e.g. DATABASE_URL).' },
    );
  }
}

/** `body` wrapped in `quote` if dotenv's quoted alternative stops exactly at our close. */
function quoted(body: string, quote: string): string | undefined {
  if (body.endsWith('\\')) return undefined;
  for (let i = body.indexOf(quote); i !== -1; i = body.indexOf(quote, i + 1)) {
    if (body[i - 1] !== '\\') return undefined;
  }
  return quote + body + quote;
}

/** Does `K=<encoded>` read back as exactly `{ K: value }`? */
function readsBack(encoded: string, value: string): boolean {
  const parsed = parseDotenv(`K=${encoded}\n`);
  const keys = Object.keys(parsed);
  return keys.length === 1 && keys[0] === 'K' && parsed.K === value;
}

/**
 * Every encoding of `value` that dotenv reads back unchanged, best first (see the module doc).
 * Empty when none exists. Used by the editor, which may need a second choice in odd contexts.
 */
export function dotenvValueEncodings(value: string): string[] {
  if (typeof value !== 'string') throw new TypeError('a dotenv value must be a string');
  const candidates: (string | undefined)[] = [];
  if (value === '') candidates.push('', "''", '""', '``');
  if (BARE.test(value)) candidates.push(value);
  const multiline = /[\r\n]/.test(value);
  if (!multiline) candidates.push(quoted(value, "'"));
  // dotenv turns every backslash-n / backslash-r into LF / CR inside double quotes, with no
  // way to escape the backslash, so such literal sequences cannot be written there.
  if (!/\\[nr]/.test(value)) {
    candidates.push(quoted(value.replace(/\n/g, '\\n').replace(/\r/g, '\\r'), '"'));
  }
  // A CR cannot be written literally: dotenv turns it into LF before parsing.
  if (multiline && !value.includes('\r')) candidates.push(quoted(value, "'"));
  if (!value.includes('\r')) candidates.push(quoted(value, '`'));
  // dotenv's own rule for unquoted values: up to `#` or the line end, then trimmed.
  if (!/^['"`]|^\s|\s$|[#\r\n\u2028\u2029]/.test(value)) candidates.push(value);
  const out: string[] = [];
  for (const c of candidates) {
    if (c !== undefined && !out.includes(c) && readsBack(c, value)) out.push(c);
  }
  return out;
}

/**
 * Encodes one value for `KEY=<result>`: the right-hand side only, quoted as needed so that
 * `dotenv.parse` returns `value` unchanged. `key` only names the variable in errors.
 *
 * @throws CofferError INVALID_VALUE when no dotenv quoting can carry the value (the message
 *   names the key, never the value).
 * @example
 * ```ts
 * formatDotenvValue('GREETING', 'hello world'); // "'hello world'"
 * formatDotenvValue('PEM', 'a\nb'); // '"a\\nb"'
 * ```
 */
export function formatDotenvValue(key: string, value: string): string {
  const best = dotenvValueEncodings(value)[0];
  if (best === undefined) throw unencodable(key);
  return best;
}

/** The refusal for a value no quoting carries. Never include the value: it may be a secret. */
export function unencodable(key: string): CofferError {
  return new CofferError(
    'INVALID_VALUE',
    `cannot write the value of ${key} to a .env file: no dotenv quoting reads it back unchanged`,
    {
      hint:
        'dotenv has no escapes for quotes or backslashes: a value that holds all three quote ' +
        'characters, ends in a backslash or has a CR, and also holds a #, a line break or ' +
        'leading or trailing spaces, cannot be stored in a .env file.',
    },
  );
}

/**
 * Writes a whole `.env` document, one `KEY=value` line per entry (LF line endings, a final
 * newline, keys in the map's order), that `dotenv.parse` reads back as exactly `map`.
 * All keys and values are checked before anything is produced.
 *
 * @throws CofferError INVALID_ARGUMENT for a key dotenv cannot read back, INVALID_VALUE for a
 *   value no quoting carries; messages name the key, never the value.
 * @example
 * ```ts
 * formatDotenv({ A: '1', B: 'x y' }); // "A=1\nB='x y'\n"
 * ```
 */
export function formatDotenv(map: Readonly<Record<string, string>>): string {
  if (typeof map !== 'object' || map === null) throw new TypeError('the map must be an object');
  const lines: string[] = [];
  for (const key of Object.keys(map)) {
    assertDotenvKey(key);
    lines.push(`${key}=${formatDotenvValue(key, map[key] as string)}\n`);
  }
  const text = lines.join('');
  // Belt and braces: each line was checked alone; check the document as a whole too.
  const back = parseDotenv(text);
  for (const key of Object.keys(map)) {
    if (back[key] !== map[key]) throw unencodable(key);
  }
  return text;
}
