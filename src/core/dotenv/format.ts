/**
 * Writes `KEY=value` lines that the `dotenv` npm package (`dotenv.parse`, dotenv 18.0.10's
 * default regex parser; see ./parse.ts) reads back as exactly the same strings, and that
 * run nothing and expand nothing where a .env file is also read: `dotenvx run` (which
 * expands `$VAR` and runs `$(...)` outside single quotes) and a shell (`set -a; . ./.env`).
 * Whoever can write a secret (a write-only token, an agent) must not be able to turn it
 * into a command on the machine of whoever pulls it into a file.
 *
 * dotenv has no escape for quotes or backslashes, so each value gets the first quoting that
 * carries it unchanged, in this order:
 * 1. nothing, when the value is empty or made only of letters, digits, `_ @ % + = : , . / -`
 *    and visible characters beyond ASCII (none of which a shell, dotenv or dotenvx gives a
 *    meaning);
 * 2. single quotes (literal in dotenv, dotenvx and shells), for one-line values without `'`;
 * 3. double quotes, writing LF as `\n` and CR as `\r` (the only escapes dotenv knows), for
 *    values without `$` or a backtick (which dotenvx and shells would expand or run there)
 *    and without `"`;
 * 4. single quotes around a value with literal line breaks and no `'`.
 * Single quotes never hold a `'`, nor double quotes a `"` (dotenv reads `\'` and `\"` there as
 * quotes in the value, a shell does not), and the value may not end with a backslash (it would
 * escape the closing quote).
 * Every choice is checked by parsing it back before it is returned. A shell reads a value
 * in double quotes with backslashes, or with `\n` for a line break, differently from dotenv,
 * but runs nothing.
 *
 * Refused (CofferError INVALID_VALUE naming the key, never the value): values that no such
 * quoting carries: those with a `'` and also a `$`, a backtick or a `"`; those with a `'`
 * that end with a backslash or hold a CR. Backtick quoting and dotenv's looser unquoted form
 * are never written: a shell runs the first, and splits the second at spaces into a command.
 *
 * Not done here: no variable expansion, comments, ordering or file I/O.
 */
import { CofferError } from '../errors.js';
import { parseDotenv } from './parse.js';

/** Keys written: variable names, which dotenv and shells both read as such. */
const KEY_SYNTAX = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Keys dotenv reads (and an edit may find in a file): `[\w.-]+`. */
const READABLE_KEY_SYNTAX = /^[\w.-]+$/;

/**
 * Values written without quotes: characters that mean nothing to dotenv, dotenvx or a shell
 * (ASCII letters, digits and `_ @ % + = : , . / -`, and letters beyond ASCII other than
 * spaces and invisible characters).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the range excludes ASCII, controls included.
const BARE = /^(?:[A-Za-z0-9_@%+=:,./-]|(?![\s\p{C}])[^\x00-\x7f])+$/u;

/**
 * Whether `key` may be written: a name dotenv reads back as itself and a shell reads as a
 * variable (`[A-Za-z_][A-Za-z0-9_]*`), except `__proto__`, which dotenv silently drops.
 * dotenv also reads keys with `.` or `-` or a leading digit, but `1X=v` or `a.b=v` in a
 * sourced file is a command to a shell, not an assignment.
 */
export function isDotenvKey(key: string): boolean {
  return typeof key === 'string' && KEY_SYNTAX.test(key) && key !== '__proto__';
}

/** Throws INVALID_ARGUMENT unless dotenv reads `key` (`[\w.-]+`, not `__proto__`): for removal. */
export function assertDotenvReadableKey(key: string): void {
  if (typeof key !== 'string') throw new TypeError('a dotenv key must be a string');
  if (!READABLE_KEY_SYNTAX.test(key) || key === '__proto__') {
    throw new CofferError('INVALID_ARGUMENT', `the key ${JSON.stringify(key)} is not a dotenv key`);
  }
}

/** Throws INVALID_ARGUMENT unless `key` may be written (isDotenvKey). */
export function assertDotenvKey(key: string): void {
  if (typeof key !== 'string') throw new TypeError('a dotenv key must be a string');
  if (!isDotenvKey(key)) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      key === '__proto__'
        ? 'the key __proto__ cannot be written to a .env file: dotenv ignores it'
        : `the key ${JSON.stringify(key)} cannot be written to a .env file`,
      {
        hint: 'Keys are variable names: letters, digits and _, not starting with a digit (e.g. DATABASE_URL).',
      },
    );
  }
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
  if (value === '') candidates.push('', "''", '""');
  if (BARE.test(value)) candidates.push(value);
  const multiline = /[\r\n]/.test(value);
  // No quote at all inside single quotes: dotenv reads `\'` as one, a shell ends the quoted
  // text there, and what follows would be shell syntax.
  // Nor a final backslash: dotenv would read `\'` as a quote and run on into later lines.
  const single = value.includes("'") || value.endsWith('\\') ? undefined : `'${value}'`;
  if (!multiline) candidates.push(single);
  // dotenv turns every backslash-n / backslash-r into LF / CR inside double quotes, with no
  // way to escape the backslash, so such literal sequences cannot be written there; `$` and
  // backticks are expanded and run there by dotenvx and shells; and no `"` at all, not even
  // after a backslash: dotenv reads `\"` as one, a shell reads `\\"` as a backslash and the
  // end of the quoted text, and what follows would be shell syntax.
  if (!/\\[nr]|[$`"]/.test(value) && !value.endsWith('\\')) {
    candidates.push(`"${value.replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`);
  }
  // A CR cannot be written literally: dotenv turns it into LF before parsing.
  if (multiline && !value.includes('\r')) candidates.push(single);
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
    `cannot write the value of ${key} to a .env file: no quoting reads it back unchanged without letting a shell or dotenvx run or expand part of it`,
    {
      hint:
        'A value with a single quote and also a $, a backtick or a double quote (or a CR, or a final ' +
        'backslash) has no safe .env form. Give it to the program with `coffer run` ' +
        'instead, which puts it in the environment directly.',
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
