/**
 * formatDotenv / formatDotenvValue: chosen quoting per value, refusals, and the round trip
 * `dotenv.parse(formatDotenv(map))` = map checked against the real dotenv package (both its
 * default parser and its `fast` parser).
 */
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
    [`'"\n`, '`\'"\n`'],
    ['tail\\', 'tail\\'],
    ['C:\\Program Files\\', 'C:\\Program Files\\'],
    [`a'b"c\`d`, `a'b"c\`d`],
    ["quote\\'escaped ", "'quote\\'escaped '"],
  ])('encodes %j as %j', (value, encoded) => {
    expect(formatDotenvValue('K', value)).toBe(encoded);
    expect(dotenv.parse(`K=${encoded}\n`)).toEqual({ K: value });
  });

  it.each([
    ['all three quotes and a newline', `'"\`\n`],
    ['all three quotes and a #', `it's "a" #\`b\``],
    ['a value starting with a quote and holding all three', `'a" \`b`],
    ['a leading space and a trailing backslash', ' C:\\dir\\'],
    ['a # and a trailing backslash', 'dir#1\\'],
    ['a CR next to a double quote', 'a\r"b'],
    ['a CR and a literal backslash-n', 'a\r\\n'],
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
    for (const key of ['A', 'db.url', 'x-y', '_', '1ABC', 'export', 'a.-_9']) {
      expect(isDotenvKey(key)).toBe(true);
      expect(dotenv.parse(formatDotenv({ [key]: 'v' }))).toEqual({ [key]: 'v' });
    }
    for (const key of ['', 'A B', 'A=B', 'é', 'A#', '__proto__', 'a\nb', '$A']) {
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

const keyArb = fc.stringMatching(/^[A-Za-z_][\w.-]{0,11}$/).filter((k) => k !== '__proto__');
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

/** A quote character that is not right after a backslash. */
function bare(v: string, q: string): boolean {
  for (let i = v.indexOf(q); i !== -1; i = v.indexOf(q, i + 1)) if (v[i - 1] !== '\\') return true;
  return false;
}

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

  it('refuses a value only when dotenv really has no quoting for it', () => {
    fc.assert(
      fc.property(valueArb, (value) => {
        let encoded: string;
        try {
          encoded = formatDotenvValue('K', value);
        } catch {
          // Needs a trailing backslash, a CR, or both a bare ' and a bare ` (so neither
          // single quotes nor backticks work) -- and then double quotes failed too.
          const reason =
            value.endsWith('\\') || value.includes('\r') || (bare(value, "'") && bare(value, '`'));
          expect(reason).toBe(true);
          return;
        }
        expect(dotenv.parse(`K=${encoded}\nNEXT=1\n`)).toEqual({ K: value, NEXT: '1' });
      }),
      { numRuns: 3000 },
    );
  });

  it('always carries values without backticks, CR or a trailing backslash', () => {
    const safe = valueArb.filter((v) => !/[`\r]/.test(v) && !v.endsWith('\\'));
    fc.assert(
      fc.property(safe, (value) => {
        expect(dotenv.parse(`K=${formatDotenvValue('K', value)}`)).toEqual({ K: value });
      }),
      { numRuns: 1000 },
    );
  });
});
