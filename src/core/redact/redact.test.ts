import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  needles,
  referenceRedact,
  SYMBOL,
  valuesAndText,
} from '../../../test/helpers/redact-reference.js';
import { createRedactor, MIN_REDACTION_LENGTH, REDACTION_MARKER } from './index.js';

const redact = (values: string[], text: string, marker?: string) =>
  createRedactor(marker === undefined ? { values } : { values, marker }).redactString(text);

describe('redactString', () => {
  it('replaces each occurrence with one fixed marker', () => {
    expect(redact(['hunter2!'], 'pw=hunter2! again hunter2!')).toBe(
      'pw=[REDACTED] again [REDACTED]',
    );
    expect(REDACTION_MARKER).toBe('[REDACTED]');
  });

  it('the marker does not depend on the value length', () => {
    expect(redact(['abcd'], 'x abcd y')).toBe('x [REDACTED] y');
    expect(redact(['a'.repeat(500)], `x ${'a'.repeat(500)} y`)).toBe('x [REDACTED] y');
  });

  it('hides overlapping values together, leaving no fragment', () => {
    expect(redact(['abcd', 'cdef'], 'xabcdefx')).toBe('x[REDACTED]x');
    expect(redact(['cdef', 'abcd'], 'abcdef')).toBe('[REDACTED]');
  });

  it('takes the longest of values that are prefixes of each other, in any order', () => {
    for (const values of [
      ['abcd', 'abcdef'],
      ['abcdef', 'abcd'],
    ]) {
      expect(redact(values, 'abcdefg')).toBe('[REDACTED]g');
      expect(redact(values, 'abcdexg')).toBe('[REDACTED]exg');
    }
  });

  it('keeps spans that only touch apart, and a value nested in a longer one whole', () => {
    expect(redact(['abcd'], 'abcdabcd')).toBe('[REDACTED][REDACTED]');
    expect(redact(['bcde', 'abcdef'], '-abcdef-')).toBe('-[REDACTED]-');
  });

  it('ignores empty values and values below the minimum length', () => {
    expect(MIN_REDACTION_LENGTH).toBe(4);
    expect(redact(['', 'a', 'abc', '😀😀😀'], 'a abc 😀😀😀 done')).toBe('a abc 😀😀😀 done');
    expect(createRedactor({ values: ['a'], minLength: 1 }).redactString('banana')).toBe(
      'b[REDACTED]n[REDACTED]n[REDACTED]',
    );
    // Four code points (eight UTF-16 units, sixteen UTF-8 bytes) are enough.
    expect(redact(['😀😀😀😀'], '<😀😀😀😀>')).toBe('<[REDACTED]>');
  });

  it('finds a value in its JSON-escaped and percent-encoded forms', () => {
    const value = 'pa"ss\\wo rd@1';
    const json = JSON.stringify({ password: value, note: `uses ${value}` });
    const masked = redact([value], json);
    expect(JSON.parse(masked)).toEqual({ password: '[REDACTED]', note: 'uses [REDACTED]' });
    const url = `postgres://app:${encodeURIComponent(value)}@db/app`;
    expect(redact([value], url)).toBe('postgres://app:[REDACTED]@db/app');
  });

  it('uses a custom marker and rejects bad options before any work', () => {
    expect(redact(['secret-1'], 'a secret-1 b', '***')).toBe('a *** b');
    expect(() => createRedactor({ marker: '' })).toThrow(RangeError);
    expect(() => createRedactor({ minLength: -1 })).toThrow(RangeError);
    expect(() => createRedactor({ minLength: 1.5 })).toThrow(RangeError);
    expect(() => createRedactor({ values: 'secret' as unknown as string[] })).toThrow(TypeError);
    expect(() => createRedactor({ values: [42 as unknown as string] })).toThrow(TypeError);
    expect(() => createRedactor().redactString(7 as unknown as string)).toThrow(TypeError);
  });

  it('does not reveal the value in its own errors', () => {
    try {
      createRedactor({ values: ['top-secret-value', 1 as unknown as string] });
      expect.unreachable();
    } catch (err) {
      expect(String(err)).not.toContain('top-secret-value');
    }
  });

  it('property: output equals the input with each occurrence replaced, and holds no value', () => {
    fc.assert(
      fc.property(valuesAndText, ({ values, text }) => {
        const out = redact(values, text);
        expect(out).toBe(referenceRedact(text, values));
        for (const v of needles(values)) expect(out).not.toContain(v);
      }),
      { numRuns: 500 },
    );
  });

  it('property: any marker gives the reference result', () => {
    fc.assert(
      fc.property(
        valuesAndText,
        fc.string({ unit: SYMBOL, minLength: 1, maxLength: 5 }),
        ({ values, text }, marker) => {
          const out = redact(values, text, marker);
          expect(out).toBe(referenceRedact(text, values, marker));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: a text without any value passes unchanged', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', minLength: 4, maxLength: 12 }), { maxLength: 4 }),
        fc.string({ unit: 'binary', maxLength: 200 }),
        (values, text) => {
          fc.pre(needles(values).every((n) => !text.includes(n)));
          expect(redact(values, text)).toBe(text);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('handles a long text that repeats a prefix of a value', () => {
    const value = `${'a'.repeat(64)}!`;
    const text = 'a'.repeat(200_000);
    expect(redact([value], text)).toBe(text);
    expect(redact([value], `${text}${value}`)).toBe(`${'a'.repeat(200_000)}[REDACTED]`);
  });
});
