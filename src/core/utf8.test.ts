/** The one decoding rule for input: strict UTF-8, a leading BOM kept, the bad line named. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUtf8 } from './utf8.js';

describe('decodeUtf8', () => {
  it('keeps a leading U+FEFF', () => {
    expect(decodeUtf8(Buffer.from('\ufeffabc', 'utf8'), 'x')).toBe('\ufeffabc');
  });

  it('refuses invalid UTF-8 naming the line, never showing the bytes', () => {
    const bytes = Buffer.concat([Buffer.from('A=1\r\nB=2\nC='), Buffer.from([0xff, 0x41])]);
    expect(() => decodeUtf8(bytes, '.env')).toThrow('.env is not valid UTF-8 (line 3)');
    expect(() => decodeUtf8(bytes, 'the value on stdin', false)).toThrow(
      /^the value on stdin is not valid UTF-8$/,
    );
  });

  it('round-trips every well-formed string (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(decodeUtf8(Buffer.from(s, 'utf8'), 'x')).toBe(s);
      }),
    );
  });
});
