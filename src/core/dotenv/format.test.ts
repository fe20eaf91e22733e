/**
 * formatDotenv / formatDotenvValue: chosen quoting per value, refusals, and the round trip
 * `dotenv.parse(formatDotenv(map))` = map checked against the real dotenv package (both its
 * default parser and its `fast` parser).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dotenvx from '@dotenvx/dotenvx';
import dotenv from 'dotenv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import { formatDotenv, formatDotenvValue, isDotenvKey } from './format.js';

function caught(fn: () => unknown): CofferError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CofferError);
    return err as CofferError;
  }
  throw new Error('expected a CofferError');
}

describe('formatDotenvValue', () => {
  it.each([
    ['', ''],
    ['plain-value_1.2:3@x/y', 'plain-value_1.2:3@x/y'],
    ['ünïcödé😀', 'ünïcödé😀'],
    ['two words', "'two words'"],
    [' padded ', "' padded '"],
    ['a#b', "'a#b'"],
    ['$HOME', "'$HOME'"],
    ['C:\\dir\\new', "'C:\\dir\\new'"],
    ['"quoted"', `'"quoted"'`],
    ['`tick`', "'`tick`'"],
    ["it's", `"it's"`],
    ['line 1\nline 2', '"line 1\\nline 2"'],
    ['cr\r\nlf', '"cr\\r\\nlf"'],
    ["it's\nmulti", `"it's\\nmulti"`],
    ['lit \\n and\nnewline', "'lit \\n and\nnewline'"],
    ['a;b|c&d>e', "'a;b|c&d>e'"],
    ['x rm -rf ~', "'x rm -rf ~'"],
    ["it's (fine)", `"it's (fine)"`],
    ["quote\\'escaped ", `"quote\\'escaped "`],
  ])('encodes %j as %j', (value, encoded) => {
    expect(formatDotenvValue('K', value)).toBe(encoded);
    expect(dotenv.parse(`K=${encoded}\n`)).toEqual({ K: value });
  });

  it.each([
    ['all three quotes and a newline', `'"\`\n`],
    ['all three quotes and a #', `it's "a" #\`b\``],
    ['a value starting with a quote and holding all three', `'a" \`b`],
    ['a CR next to a double quote', 'a\r"b'],
    ['a CR and a literal backslash-n', 'a\r\\n'],
    ['a single quote and a command substitution', "it's $(touch pwned)"],
    ['a single quote and a backtick', "it's `id`"],
    ['a single quote and a variable', "it's $HOME"],
    ['a trailing backslash', 'tail\\'],
    ['a space and a trailing backslash', 'C:\\Program Files\\'],
    ['a single quote, a double quote and a line break', `'"\n`],
  ])('refuses %s, naming the key but not the value', (_what, value) => {
    const err = caught(() => formatDotenvValue('API_TOKEN', value));
    expect(err.code).toBe('INVALID_VALUE');
    expect(err.message).toContain('API_TOKEN');
    expect(err.message).not.toContain(value);
    expect(err.hint).toBeTruthy();
  });
});

describe('keys', () => {
  it('accepts what dotenv reads back and refuses the rest', () => {
    for (const key of ['A', '_', 'export', 'DB_URL', 'a9_']) {
      expect(isDotenvKey(key)).toBe(true);
      expect(dotenv.parse(formatDotenv({ [key]: 'v' }))).toEqual({ [key]: 'v' });
    }
    // dotenv reads db.url, x-y and 1ABC, but a shell sourcing the file runs them.
    for (const key of [
      '',
      'A B',
      'A=B',
      'é',
      'A#',
      '__proto__',
      'a\nb',
      '$A',
      'db.url',
      'x-y',
      '1ABC',
    ]) {
      expect(isDotenvKey(key)).toBe(false);
      expect(caught(() => formatDotenv({ [key]: 'v' })).code).toBe('INVALID_ARGUMENT');
    }
  });

  it('dotenv drops __proto__, so it is refused rather than silently lost', () => {
    expect(dotenv.parse('__proto__=x\n')).toEqual({});
    const err = caught(() => formatDotenv(JSON.parse('{"__proto__":"x"}')));
    expect(err.message).toContain('__proto__');
  });
});

describe('formatDotenv', () => {
  it('writes one line per key with a final newline', () => {
    expect(formatDotenv({})).toBe('');
    expect(formatDotenv({ A: '1', B: 'x y', C: '' })).toBe("A=1\nB='x y'\nC=\n");
  });

  it('checks every value before writing anything', () => {
    const err = caught(() => formatDotenv({ OK: 'fine', BAD: `'"\`\n`, LATER: 'x' }));
    expect(err.message).toContain('BAD');
    expect(err.code).toBe('INVALID_VALUE');
  });
});

// ---- Round trip ---------------------------------------------------------------------

const keyArb = fc.stringMatching(/^[A-Za-z_]\w{0,11}$/).filter((k) => k !== '__proto__');
const special = fc.constantFrom(
  "'",
  '"',
  '`',
  '\\',
  'n',
  'r',
  '\n',
  '\r',
  '#',
  '$',
  ' ',
  '\t',
  '=',
  '\u2028',
  '\uFEFF',
  '\u00a0',
  'é',
  '😀',
  '{',
  '}',
  '\0',
  '\x7f',
); // prettier-ignore
const valueArb = fc.oneof(
  fc.string({ unit: fc.oneof(special, fc.constantFrom('a', 'B', '1')), maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 16 }),
  fc.string({ unit: 'binary', maxLength: 16 }),
  fc.string({ maxLength: 16 }),
);
const mapArb = fc.dictionary(keyArb, valueArb, { maxKeys: 6, noNullPrototype: true });

describe('round trip through dotenv.parse', () => {
  it('reads back exactly, or refuses with a CofferError naming the key only', () => {
    let written = 0;
    let refused = 0;
    fc.assert(
      fc.property(mapArb, (map) => {
        let text: string;
        try {
          text = formatDotenv(map);
          written++;
        } catch (err) {
          refused++;
          expect(err).toBeInstanceOf(CofferError);
          const e = err as CofferError;
          expect(e.code).toBe('INVALID_VALUE');
          const bad = Object.keys(map).filter((k) => e.message.includes(k));
          expect(bad.length).toBeGreaterThan(0);
          for (const v of Object.values(map)) {
            if (v.length >= 8) expect(e.message).not.toContain(v);
          }
          return;
        }
        expect(dotenv.parse(text)).toEqual(map);
        expect(dotenv.parse(text, { fast: true })).toEqual(map);
      }),
      { numRuns: 3000 },
    );
    // Both outcomes were exercised, and refusals stay rare.
    expect(refused).toBeGreaterThan(0);
    expect(written).toBeGreaterThan(refused * 10);
  });

  it('refuses a value only when no safe quoting carries it', () => {
    fc.assert(
      fc.property(valueArb, (value) => {
        let encoded: string;
        try {
          encoded = formatDotenvValue('K', value);
        } catch {
          // Single quotes failed (a ', a CR, a trailing backslash) and so did double
          // quotes (a $ or backtick, a literal backslash-n/r, a bare ", a trailing backslash).
          const noSingle = value.includes("'") || value.includes('\r') || value.endsWith('\\');
          const noDouble = /[$`"]|\\[nr]/.test(value) || value.endsWith('\\');
          expect(noSingle && noDouble).toBe(true);
          return;
        }
        expect(dotenv.parse(`K=${encoded}\nNEXT=1\n`)).toEqual({ K: value, NEXT: '1' });
      }),
      { numRuns: 3000 },
    );
  });

  it('always carries values without a single quote, CR or trailing backslash', () => {
    const safe = valueArb.filter((v) => !/['\r]/.test(v) && !v.endsWith('\\'));
    fc.assert(
      fc.property(safe, (value) => {
        expect(dotenv.parse(`K=${formatDotenvValue('K', value)}`)).toEqual({ K: value });
      }),
      { numRuns: 1000 },
    );
  });
});

// ---- Other readers of the same file ---------------------------------------------------

/** Values meant to run something or expand something when a .env file is read: `canary`
 * is the file they would make. */
const hostile = (canary: string) =>
  fc.string({
    unit: fc.constantFrom(
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `$\{HOME}`,
      '$HOME',
      `;touch ${canary};`,
      `&& touch ${canary}`,
      `| touch ${canary}`,
      `>${canary}`,
      ' ',
      "'",
      '"',
      '\\',
      '\\"',
      "\\'",
      '\\\\',
      '\n',
      '#',
      '{',
      '}',
      '*',
      '~',
      'a',
      '=',
    ),
    maxLength: 10,
  });

/** Sources ./.env, then prints each variable named in $KEYS, NUL-terminated. */
const READ_ALL = String.raw`set -a; . ./.env; for k in $KEYS; do eval "v=\"\${$k}\""; printf '%s\0' "$v"; done`;

describe('what a shell and dotenvx make of the written file', () => {
  it('property: sourcing it runs nothing and expands nothing; bare and single-quoted values read back exactly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-dotenv-shell-'));
    try {
      const canary = join(dir, 'CANARY');
      // A fixed seed, so that a failure can be run again; 2,000 draws of up to 10 pieces.
      const values = fc.sample(hostile(canary), { numRuns: 2000, seed: 20261205 });
      const map: Record<string, string> = {};
      values.forEach((v, i) => {
        try {
          formatDotenvValue('K', v);
          map[`K${i}`] = v;
        } catch {
          // refused: nothing is written for it
        }
      });
      expect(Object.keys(map).length).toBeGreaterThan(300);
      const file = join(dir, '.env');
      writeFileSync(file, formatDotenv(map));
      // One shell reads all of them; the values come back NUL-separated.
      const r = spawnSync('sh', ['-c', READ_ALL], {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          HOME: '/nonexistent-home',
          KEYS: Object.keys(map).join(' '),
        },
        encoding: 'utf8',
      });
      expect(r.status).toBe(0);
      expect(existsSync(canary)).toBe(false);
      const read = r.stdout.split('\0').slice(0, -1);
      expect(read).toHaveLength(Object.keys(map).length);
      Object.entries(map).forEach(([k, v], i) => {
        const line = formatDotenvValue(k, v);
        // Double quotes carry backslashes and \n differently in a shell, and nothing else.
        if (!line.startsWith('"')) expect(read[i]).toBe(v);
        expect(read[i]).not.toContain('/nonexistent-home');
      });
      // dotenvx expands $VAR and runs $(...) outside single quotes: nothing to run or expand.
      const parsed = dotenvx.parse(readFileSync(file, 'utf8'), {
        processEnv: { HOME: '/nonexistent-home' },
      });
      expect(existsSync(canary)).toBe(false);
      expect(parsed).toEqual(map);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
