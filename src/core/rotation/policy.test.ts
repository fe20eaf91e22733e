import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import { formatRotationPolicy, parseRotationPolicy, readRotationPolicy } from './policy.js';

describe('rotation policies', () => {
  it.each([
    ['90d', 90],
    ['12w', 84],
    ['6m', 180],
    ['1y', 365],
    ['9999d', 9999],
  ])('%s is a period of %i days', (text, days) => {
    const p = readRotationPolicy(text);
    expect(p).toMatchObject({ kind: 'period', days });
    expect(parseRotationPolicy(text)).toBe(text);
  });

  it.each(['on-compromise', 'never'])('%s is a policy', (text) => {
    expect(readRotationPolicy(text)).toEqual({ kind: text });
  });

  it.each(['', '0d', '090d', '90', 'd', '90x', '10000d', '1.5y', ' 90d', '90d ', 'NEVER', '-1d'])(
    '%j is refused with a hint',
    (text) => {
      expect(readRotationPolicy(text)).toBeUndefined();
      let err: unknown;
      try {
        parseRotationPolicy(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CofferError);
      expect((err as CofferError).code).toBe('INVALID_ARGUMENT');
      expect((err as CofferError).hint).toMatch(/90d/);
    },
  );

  it('every policy reads back as what it formats to (round trip)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom('on-compromise', 'never'),
          fc
            .tuple(fc.integer({ min: 1, max: 9999 }), fc.constantFrom('d', 'w', 'm', 'y'))
            .map(([n, u]) => `${n}${u}`),
        ),
        (text) => {
          const p = readRotationPolicy(text);
          expect(p).toBeDefined();
          expect(formatRotationPolicy(p!)).toBe(text);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('nothing else parses (arbitrary strings)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (text) => {
        const p = readRotationPolicy(text);
        if (p !== undefined) expect(formatRotationPolicy(p)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});
