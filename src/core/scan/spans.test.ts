import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Span, TakenSpans } from './spans.js';

/** The reference: every span taken compared with the one tested. */
const naive = (spans: readonly Span[], start: number, end: number) =>
  spans.some((s) => start < s.end && end > s.start);

describe('TakenSpans', () => {
  it('answers as a walk of every span would, for runs of matches in any order', () => {
    // Rules' matches: each rule's in order along the line, the rules one after another.
    const run = fc
      .array(fc.tuple(fc.nat(40), fc.integer({ min: 1, max: 30 })), { maxLength: 15 })
      .map((xs) => {
        let at = 0;
        return xs.map(([gap, len]) => {
          at += gap;
          const s = { start: at, end: at + len };
          at += len;
          return s;
        });
      });
    fc.assert(
      fc.property(fc.array(run, { maxLength: 8 }), (runs) => {
        const taken = new TakenSpans();
        const reference: Span[] = [];
        for (const r of runs) {
          for (const s of r) {
            const got = taken.overlaps(s.start, s.end);
            expect(got).toBe(naive(reference, s.start, s.end));
            if (got) continue;
            taken.add(s);
            reference.push(s);
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});
