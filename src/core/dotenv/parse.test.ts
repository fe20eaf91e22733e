/**
 * parseDotenv against the reference: hand-written examples per grammar feature, then
 * differential property tests comparing with `dotenv.parse` on generated documents.
 */
import dotenv from 'dotenv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDotenv, parseDotenvLines } from './parse.js';

/** Both parsers agree, and we also pin the expected map. */
function same(doc: string, expected: Record<string, string>): void {
  expect(dotenv.parse(doc)).toEqual(expected);
  expect(parseDotenv(doc)).toEqual(expected);
}

describe('parseDotenv examples', () => {
  it('reads unquoted values, trimmed, up to an inline comment', () => {
    same('A=1\nB = two words  \nC=x#y\nD=x # y\nE=\nF= # only a comment\n', {
      A: '1',
      B: 'two words',
      C: 'x',
      D: 'x',
      E: '',
      F: '',
    });
  });

  it('skips comments, blank lines and lines it does not understand', () => {
    same('# a comment\n\n   \nnot a pair\n=no key\nA=1\n  # indented comment\n', { A: '1' });
  });

  it('accepts export, odd spacing and the `: ` separator', () => {
    same('export A=1\nexport\tB=2\n  C\t=\t3\nD: 4\nE:5\nexport=6\n', {
      A: '1',
      B: '2',
      C: '3',
      D: '4',
      export: '6',
    });
  });

  it('reads single, double and backtick quotes, keeping # and spaces inside', () => {
    same(`A='a # b '\nB="c # d"\nC=\`e 'f' "g"\`\nD='x' # note\n`, {
      A: 'a # b ',
      B: 'c # d',
      C: `e 'f' "g"`,
      D: 'x',
    });
  });

  it('expands \\n and \\r only inside double quotes', () => {
    same(`A="1\\n2\\r3"\nB='1\\n2'\nC=\`1\\n2\`\nD=1\\n2\n`, {
      A: '1\n2\r3',
      B: '1\\n2',
      C: '1\\n2',
      D: '1\\n2',
    });
  });

  it('reads multi-line quoted values', () => {
    same(`A="line 1\nline 2"\nB='x\n\ny'\nC=\`p\nq\`\nD=after\n`, {
      A: 'line 1\nline 2',
      B: 'x\n\ny',
      C: 'p\nq',
      D: 'after',
    });
  });

  it('keeps backslashes of escaped quotes (dotenv has no unescaping)', () => {
    same(`A='it\\'s'\nB="say \\"hi\\""\n`, { A: "it\\'s", B: 'say \\"hi\\"' });
  });

  it('treats an unterminated quote as an unquoted value', () => {
    same(`A='open\nB=2\n`, { A: "'open", B: '2' });
  });

  it('normalises CRLF and lone CR to LF, also inside quoted values', () => {
    same('A=1\r\nB="x\r\ny"\rC=3', { A: '1', B: 'x\ny', C: '3' });
  });

  it('lets the last duplicate win', () => {
    same('A=1\nB=2\nA=3\n', { A: '3', B: '2' });
  });

  it('skips a leading BOM like dotenv (it is whitespace to \\s)', () => {
    same('\uFEFFA=1\nB=2\n', { A: '1', B: '2' });
    same('\uFEFFexport A=1\n', { A: '1' });
  });

  // Deliberately matching dotenv where it is surprising; each case is pinned here.
  it('matches dotenv quirks: BOM trimmed from values, __proto__ dropped, lines joined', () => {
    same('A=\uFEFFx\uFEFF\n', { A: 'x' });
    same('__proto__=x\nB=1\n', { B: '1' });
    same('FOO:\nA=1\n', { FOO: 'A=1' });
    same("A=\n'y'\n", { A: 'y' });
    same('KEY\n=value\n', { KEY: 'value' });
    same("A=x\u2028'y'\n", { A: 'x\u2028y' });
  });
});

describe('parseDotenvLines', () => {
  it('splits a document into pairs and other text with offsets', () => {
    const doc = '# db\r\nexport A = "x" # one\r\n\r\nB=2';
    const entries = parseDotenvLines(doc);
    expect(entries.map((e) => e.kind)).toEqual(['other', 'pair', 'other', 'pair']);
    expect(entries.map((e) => e.raw).join('')).toBe(doc);
    const a = entries[1];
    expect(a).toMatchObject({ kind: 'pair', key: 'A', value: 'x', exported: true });
    if (a?.kind !== 'pair') throw new Error('expected a pair');
    expect(doc.slice(a.start, a.end)).toBe('export A = "x"');
    expect(doc.slice(a.valueStart, a.valueEnd)).toBe('"x"');
    expect(entries[2]?.raw).toBe(' # one\r\n\r\n');
  });

  it('gives empty values an empty value range right after the separator', () => {
    const doc = 'A= # c\nB:  \n';
    const pairs = parseDotenvLines(doc).filter((e) => e.kind === 'pair');
    expect(pairs.map((p) => [p.key, p.value, doc.slice(p.start, p.valueStart)])).toEqual([
      ['A', '', 'A='],
      ['B', '', 'B: '],
    ]);
  });
});

// ---- Generated documents -------------------------------------------------------------

const pick = <T>(...xs: T[]): fc.Arbitrary<T> => fc.constantFrom(...xs);
const chars = pick(
  'a',
  'Z',
  '0',
  ' ',
  '\t',
  '#',
  '=',
  ':',
  "'",
  '"',
  '`',
  '\\',
  'n',
  'r',
  '$',
  'é',
  '😀',
  '\n',
  '\r',
  '\u2028',
  '\uFEFF',
  '\u00a0',
  '\v',
  '.',
  '-',
  '_',
  'x',
); // prettier-ignore
const noNewline = chars.filter((c) => c !== '\n' && c !== '\r');
const text = (unit: fc.Arbitrary<string>, maxLength = 8): fc.Arbitrary<string> =>
  fc.string({ unit, maxLength });

const ws = pick('', '', ' ', '  ', '\t', '\u00a0', '\uFEFF', '\v', '\n');
const key = fc.oneof(
  pick('A', 'B', 'KEY', 'a.b', 'x-y', '_', '1X', 'export', '__proto__', 'n'),
  fc.stringMatching(/^[\w.-]{1,5}$/),
);
const sep = pick('=', '=', ' =', '= ', ' = ', '\t=\t', ':', ': ', ':  ', ':\t', '=\n', ' :', '\n=');
const quote = pick("'", '"', '`');
const quotedValue = fc
  .tuple(
    quote,
    fc.array(
      fc.oneof(
        chars,
        quote.map((q) => `\\${q}`),
        pick('\\n', '\\r'),
      ),
    ),
    fc.boolean(),
  )
  .map(([q, body, closed]) => q + body.join('') + (closed ? q : ''));
const value = fc.oneof(text(noNewline), quotedValue, pick('', ' ', '""', "''", '``'));
const suffix = pick('', '', ' ', ' # comment', '#c', ' junk', "'", '\t# "q"');
const pairLine = fc
  .tuple(ws, pick('', '', 'export ', 'export\t', 'export\n'), key, sep, ws, value, suffix)
  .map((parts) => parts.join(''));
const line = fc.oneof(
  { weight: 6, arbitrary: pairLine },
  { weight: 1, arbitrary: text(noNewline).map((c) => `#${c}`) },
  { weight: 1, arbitrary: pick('', ' ', '\t') },
  { weight: 1, arbitrary: text(chars, 12) },
);
const eol = pick('\n', '\n', '\r\n', '\r', '\u2028');
const documents = fc
  .tuple(pick('', '', '\uFEFF'), fc.array(fc.tuple(line, eol), { maxLength: 8 }), fc.boolean())
  .map(([bom, lines, trailing]) => {
    const body = lines.map(([l, e]) => l + e).join('');
    return bom + (trailing ? body : body.replace(/(\r\n|[\n\r\u2028])$/, ''));
  });

describe('parseDotenv matches dotenv.parse (differential)', () => {
  it('on grammar-shaped documents', () => {
    fc.assert(
      fc.property(documents, (doc) => {
        expect(parseDotenv(doc)).toEqual(dotenv.parse(doc));
      }),
      { numRuns: 3000 },
    );
  });

  it('on random strings over the interesting characters', () => {
    fc.assert(
      fc.property(text(chars, 40), (doc) => {
        expect(parseDotenv(doc)).toEqual(dotenv.parse(doc));
      }),
      { numRuns: 2000 },
    );
  });

  it('on documents with long runs of blank lines and spaces between pairs', () => {
    const blank = fc
      .array(pick('\n', '\n', ' ', '\t', '\u2028', '\uFEFF', '\v', '\r\n'), { maxLength: 30 })
      .map((xs) => xs.join(''));
    const doc = fc
      .array(fc.tuple(blank, fc.oneof(pairLine, text(chars, 6))), { maxLength: 6 })
      .map((parts) => parts.map(([b, l]) => b + l).join(''));
    fc.assert(
      fc.property(doc, (d) => {
        expect(parseDotenv(d)).toEqual(dotenv.parse(d));
        expect(
          parseDotenvLines(d)
            .map((e) => e.raw)
            .join(''),
        ).toBe(d);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads a megabyte of blank lines in linear time (dotenv would take minutes)', () => {
    const doc = `${'\n'.repeat(1_000_000)}A=1\n${' \n'.repeat(100_000)}B=2`;
    expect(parseDotenv(doc)).toEqual({ A: '1', B: '2' });
  });

  it('on arbitrary unicode strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (doc) => {
        expect(parseDotenv(doc)).toEqual(dotenv.parse(doc));
      }),
      { numRuns: 500 },
    );
  });

  it('entries cover the text, in order, and pairs read back through their slices', () => {
    fc.assert(
      fc.property(documents, (doc) => {
        const entries = parseDotenvLines(doc);
        expect(entries.map((e) => e.raw).join('')).toBe(doc);
        let at = 0;
        for (const e of entries) {
          expect(e.start).toBe(at);
          at = e.end;
          if (e.kind !== 'pair') continue;
          expect(e.start).toBeLessThanOrEqual(e.valueStart);
          expect(e.valueStart).toBeLessThanOrEqual(e.valueEnd);
          // The raw value alone, after a plain `K=`, reads as the pair's value.
          const alone = parseDotenv(`K=${doc.slice(e.valueStart, e.valueEnd)}`);
          if (!/[\u2028\u2029]/.test(e.raw)) expect(alone.K).toBe(e.value);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
