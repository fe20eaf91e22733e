import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeControls, isPrintable, valueForTerminal } from './terminal-text.js';

/** Any C0 control, DEL or C1 control. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is tested.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

describe('escapeControls', () => {
  it("escapes an intruder's terminal sequences, so each prints as visible text", () => {
    expect(escapeControls('cli:root\u001b[2K\r')).toBe('cli:root\\x1b[2K\\x0d');
    expect(escapeControls('ok\u001b]52;c;ZWNobyBwd25lZA==\u0007\r\u001b[1A\u001b[2K')).toBe(
      'ok\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x0d\\x1b[1A\\x1b[2K',
    );
    // OSC 8 hyperlink with the 8-bit string terminator (C1 ST), a C1 CSI, NUL, DEL, tab.
    expect(escapeControls('\u001b]8;;https://x.test/\u009cclick\u001b]8;;\u009c')).toBe(
      '\\x1b]8;;https://x.test/\\x9cclick\\x1b]8;;\\x9c',
    );
    expect(escapeControls('a\u009b31mb\u0000c\u007fd\te\nf')).toBe(
      'a\\x9b31mb\\x00c\\x7fd\\x09e\\x0af',
    );
  });

  it('keeps text without controls as it is (the same string), Unicode included', () => {
    for (const s of [
      '',
      'cli:zoë',
      'token:ci@10.0.0.7',
      '3 checked, 0 failed',
      '…',
      '\u00a0\u2028',
    ]) {
      expect(escapeControls(s)).toBe(s);
    }
  });

  it('property: no control survives, and the text is all there (escapes read back give it)', () => {
    const readBack = (t: string) =>
      t.replace(/\\x([0-9a-f]{2})/g, (_m, h: string) =>
        String.fromCharCode(Number.parseInt(h, 16)),
      );
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 60 }).filter((s) => !s.includes('\\')),
        (s) => {
          const out = escapeControls(s);
          expect(out).not.toMatch(CONTROL);
          expect(readBack(out)).toBe(s);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('isPrintable', () => {
  it('is true for one line of text, any script and emoji included', () => {
    for (const s of [
      '',
      '/home/zoë/.coffer/vault.db',
      'postgres://app@db/coffer?schema=x',
      '😀 日本',
    ]) {
      expect(isPrintable(s), s).toBe(true);
    }
  });

  it('is false for controls, line separators and lone surrogates', () => {
    for (const s of [
      'a\nb',
      'a\rb',
      '\u001b[2K',
      'a\u0085',
      'a\u009b',
      '\u007f',
      'a\u2028',
      'b\u2029',
      '\ud83d',
      'x\ude00y',
      '\ude00\ud83d',
    ]) {
      expect(isPrintable(s), JSON.stringify(s)).toBe(false);
    }
  });

  it('property: escaped text is printable', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        expect(isPrintable(escapeControls(s).replace(/[\u2028\u2029]/g, ''))).toBe(true);
      }),
    );
  });
});

describe('valueForTerminal', () => {
  it('escapes what a terminal acts on, keeps tabs and line breaks, and leaves plain values alone', () => {
    expect(valueForTerminal('sk_live_abc123')).toBeUndefined();
    expect(valueForTerminal('-----BEGIN KEY-----\nAAA\tBBB\n-----END KEY-----\n')).toBeUndefined();
    expect(valueForTerminal('a\u001b]52;c;eA==\u0007b')).toBe('a\\x1b]52;c;eA==\\x07b');
    expect(valueForTerminal('x\r\ny\u009b2J')).toBe('x\\x0d\ny\\x9b2J');
  });
});
