import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../core/errors.js';
import { parseQuery } from './route.js';

/** What URLSearchParams makes of `query`, or 'repeated' when a key comes twice. */
function reference(query: string): [string, string][] | 'repeated' {
  const out = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(query)) {
    if (out.has(k)) return 'repeated';
    out.set(k, v);
  }
  // Sorted: an object lists integer-like keys first, whatever the order they came in.
  return [...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const queryChar = fc.constantFrom('a', 'b', 'e', '=', '&', '%', '+', '2', '0', 'é', ' ', '_');

describe('parseQuery', () => {
  it('decodes exactly as URLSearchParams, and refuses a repeated key', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary', maxLength: 12 }),
          fc.string({ unit: queryChar, maxLength: 16 }),
        ),
        (q) => {
          const want = reference(q);
          let got: [string, string][] | 'repeated';
          try {
            got = Object.entries(parseQuery(q)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
          } catch (err) {
            expect(err).toBeInstanceOf(CofferError);
            expect((err as CofferError).code).toBe('INVALID_ARGUMENT');
            got = 'repeated';
          }
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('keeps __proto__ and constructor as plain keys', () => {
    const q = parseQuery('__proto__=1&constructor=2');
    expect(Object.keys(q)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(q)).toBeNull();
  });
});
