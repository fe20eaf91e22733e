import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closestMatch, editDistance, nameList } from './suggest.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['', 'abc', 3],
    ['prd', 'prod', 1],
    ['stirpe', 'stripe', 1],
    ['kitten', 'sitting', 3],
    ['consilo', 'consilio', 1],
  ])('%s -> %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });

  it('is a distance: zero only for equal strings, symmetric, within the longer length (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        expect(d === 0).toBe(a === b);
        expect(editDistance(b, a)).toBe(d);
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
        expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
      }),
    );
  });
});

describe('closestMatch', () => {
  it.each([
    ['production', ['dev', 'prod'], 'prod'],
    ['development', ['dev', 'prod'], 'dev'],
    ['prd', ['dev', 'prod', 'staging'], 'prod'],
    ['stage', ['dev', 'staging'], 'staging'],
    ['consilo', ['agents', 'consilio'], 'consilio'],
    ['CONSILIO', ['consilio'], 'consilio'],
    ['zzz', ['dev', 'prod'], undefined],
    ['x', ['y'], 'y'],
    ['.env.typo', ['.env', '.env.local'], '.env'],
  ])('%s among %j is %s', (input, names, want) => {
    expect(closestMatch(input, names)).toBe(want);
  });

  it('answers one of the candidates or nothing, never the input itself (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 10 }), fc.array(fc.string({ maxLength: 10 })), (i, c) => {
        const m = closestMatch(i, c);
        if (m !== undefined) {
          expect(c).toContain(m);
          expect(m).not.toBe(i);
        }
      }),
    );
  });
});

it('nameList caps long lists', () => {
  expect(nameList([])).toBe('none');
  expect(nameList(['a', 'b'])).toBe('a, b');
  expect(nameList(['a', 'b', 'c'], 2)).toBe('a, b and 1 more');
});
