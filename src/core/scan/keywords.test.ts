import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Keyword, KeywordSet } from './keywords.js';

const KEYWORDS: Keyword[] = [
  { text: 'ghp_', caseInsensitive: false, group: 0 },
  { text: 'SK', caseInsensitive: false, group: 1 },
  { text: 'sk-', caseInsensitive: false, group: 2 },
  { text: 'sk-ant-', caseInsensitive: false, group: 3 },
  { text: 'secret', caseInsensitive: true, group: 4 },
  { text: 'key', caseInsensitive: true, group: 4 },
  { text: 'key', caseInsensitive: false, group: 5 },
  { text: '://', caseInsensitive: false, group: 6 },
];
const set = new KeywordSet(KEYWORDS);

/** The reference: every occurrence of every keyword, by plain string search. */
function occurrences(text: string): { at: number; group: number }[] {
  const out: { at: number; group: number }[] = [];
  for (const k of KEYWORDS) {
    const hay = k.caseInsensitive ? text.replace(/[A-Z]/g, (c) => c.toLowerCase()) : text;
    for (let i = hay.indexOf(k.text); i >= 0; i = hay.indexOf(k.text, i + 1)) {
      out.push({ at: i, group: k.group });
    }
  }
  return out;
}

/** Text made of keyword pieces, their case variants, near misses, non-ASCII and newlines. */
const text = fc
  .array(
    fc.constantFrom(
      'ghp_',
      'GHP_',
      'gh',
      'SK',
      'sk',
      'sk-',
      'sk-ant-',
      'Secret',
      'SECRET',
      'secre',
      'KEY',
      'kEy',
      'ke',
      ':/',
      '://',
      'é',
      '日本',
      '\u{1F511}',
      '\u0153K', // a character whose low byte is 'S' (0x53): never a keyword
      '\n',
      '\r\n',
      ' ',
      'x',
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

describe('KeywordSet', () => {
  it('finds the first keyword where a plain search of each finds it', () => {
    fc.assert(
      fc.property(text, fc.nat(40), (t, from) => {
        const f = Math.min(from, t.length);
        const expected = Math.min(
          ...occurrences(t)
            .filter((o) => o.at >= f)
            .map((o) => o.at),
          Number.POSITIVE_INFINITY,
        );
        expect(set.indexIn(t, f)).toBe(expected === Number.POSITIVE_INFINITY ? -1 : expected);
      }),
      { numRuns: 500 },
    );
  });

  it('collects the groups of every keyword in a range, overlapping ones included', () => {
    fc.assert(
      fc.property(text, (t) => {
        const hits = new Uint8Array(set.groups);
        const any = set.collect(t, 0, t.length, hits);
        const groups = new Set(occurrences(t).map((o) => o.group));
        expect([...hits].flatMap((h, g) => (h === 1 ? [g] : []))).toEqual(
          [...groups].sort((a, b) => a - b),
        );
        expect(any).toBe(groups.size > 0);
      }),
      { numRuns: 500 },
    );
  });

  it('reads UTF-8 bytes as the text: the same line, line start and newline count', () => {
    fc.assert(
      fc.property(text, (t) => {
        const bytes = Buffer.from(t);
        const lines = new Int32Array(2);
        const at = set.indexInBytes(bytes, 0, bytes.length, lines);
        const first = set.indexIn(t);
        if (first < 0) {
          expect(at).toBe(-1);
          expect(lines[0]).toBe(t.split('\n').length - 1);
          return;
        }
        // The same position, in bytes, and the same line.
        expect(at).toBe(Buffer.byteLength(t.slice(0, first)));
        const before = t.slice(0, first);
        expect(lines[0]).toBe(before.split('\n').length - 1);
        expect(lines[1]).toBe(Buffer.byteLength(before.slice(0, before.lastIndexOf('\n') + 1)));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a keyword it cannot look for', () => {
    expect(() => new KeywordSet([{ text: 'k', caseInsensitive: false, group: 0 }])).toThrow();
    expect(() => new KeywordSet([{ text: 'clé', caseInsensitive: false, group: 0 }])).toThrow();
  });
});
