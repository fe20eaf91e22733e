import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referenceRedact, splitAt } from '../../../test/helpers/redact-reference.js';
import { createRedactor, createStreamMasker } from './index.js';
import { valueForms } from './matcher.js';

const M = '[REDACTED]';

/** A two-letter alphabet makes values prefix, nest and overlap each other constantly. */
const tiny = fc.string({ unit: fc.constantFrom('a', 'b'), minLength: 1, maxLength: 7 });
const tinyCase = fc.record({
  values: fc.array(tiny, { minLength: 1, maxLength: 5 }),
  text: fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 80 }),
  cuts: fc.array(fc.nat(), { maxLength: 10 }),
});

/** Everything a fresh stream masker emits for `chunks`. */
function streamed(values: string[], chunks: Buffer[], minLength = 4, fastAfter?: number): string {
  const m = createStreamMasker(
    values,
    fastAfter === undefined ? { minLength } : { minLength, fastAfter },
  );
  return Buffer.concat([...chunks.map((c) => m.push(c)), m.end()]).toString('utf8');
}

/**
 * Values over the letters a, b and c, and a text made of up to `parts` pieces: whole values,
 * slices of values and strings over `noise`, with cut points to split it into writes.
 */
function valuesAndText(
  v: { minLength: number; maxLength: number; minValues: number; maxValues: number; parts: number },
  noise: string[],
) {
  const letters = fc.constantFrom('a', 'b', 'c');
  return fc
    .array(fc.string({ unit: letters, minLength: v.minLength, maxLength: v.maxLength }), {
      minLength: v.minValues,
      maxLength: v.maxValues,
    })
    .chain((values) =>
      fc.record({
        values: fc.constant(values),
        text: fc
          .array(
            fc.oneof(
              fc.constantFrom(...values),
              fc
                .tuple(fc.constantFrom(...values), fc.nat(), fc.nat())
                .map(([s, a, b]) => s.slice(Math.min(a, b) % s.length, Math.max(a, b))),
              fc.string({ unit: fc.constantFrom(...noise), maxLength: 30 }),
            ),
            { maxLength: v.parts },
          )
          .map((parts) => parts.join('')),
        cuts: fc.array(fc.nat(), { maxLength: 6 }),
      }),
    );
}

describe('the automaton against a naive search', () => {
  it('property: strings over two letters give the reference result (failure links)', () => {
    fc.assert(
      fc.property(tinyCase, ({ values, text }) => {
        const out = createRedactor({ values, minLength: 1 }).redactString(text);
        expect(out).toBe(referenceRedact(text, values, M, 1));
      }),
      { numRuns: 1000 },
    );
  });

  it('property: streams over two letters, any chunking, give the reference result', () => {
    fc.assert(
      fc.property(tinyCase, ({ values, text, cuts }) => {
        const out = streamed(values, splitAt(Buffer.from(text), cuts), 1);
        expect(out).toBe(referenceRedact(text, values, M, 1));
      }),
      { numRuns: 1000 },
    );
  });

  it('property: one byte at a time gives the reference result', () => {
    fc.assert(
      fc.property(tinyCase, ({ values, text }) => {
        const bytes = [...Buffer.from(text)].map((b) => Buffer.from([b]));
        expect(streamed(values, bytes, 1)).toBe(referenceRedact(text, values, M, 1));
      }),
      { numRuns: 300 },
    );
  });

  it('property: long texts made of value pieces (the skipping scan) give the reference result', () => {
    // Values of 4 to 40 letters over three letters, texts of value pieces and letters long
    // enough for many windows: windows skipped, entered, left and re-entered at every place.
    const longCase = valuesAndText(
      { minLength: 4, maxLength: 40, minValues: 1, maxValues: 4, parts: 40 },
      ['a', 'b', 'c', 'x', '\n'],
    );
    // The skipping scan's tables are built after `fastAfter` bytes: anywhere in the text.
    fc.assert(
      fc.property(longCase, fc.nat(400), ({ values, text, cuts }, fastAfter) => {
        const out = streamed(values, splitAt(Buffer.from(text), cuts), 4, fastAfter);
        expect(out).toBe(referenceRedact(text, values, M, 4));
      }),
      { numRuns: 600 },
    );
  });

  it('property: with many values (states past the byte-indexed rows) gives the reference result', () => {
    // 20 to 30 values over three letters: thousands of states, of which only the shallowest
    // get a byte-indexed row; text pieces reach the deeper ones too.
    const manyCase = valuesAndText(
      { minLength: 12, maxLength: 40, minValues: 20, maxValues: 30, parts: 30 },
      ['a', 'b', 'c', 'x'],
    );
    fc.assert(
      fc.property(manyCase, ({ values, text, cuts }) => {
        const out = streamed(values, splitAt(Buffer.from(text), cuts), 4, 0);
        expect(out).toBe(referenceRedact(text, values, M, 4));
      }),
      { numRuns: 60 },
    );
  });

  it('a span that keeps growing is marked once and never held whole', () => {
    const m = createStreamMasker(['aaaa']);
    const out: Buffer[] = [m.push(Buffer.from('x aaaa'))];
    for (let i = 0; i < 1000; i++) out.push(m.push(Buffer.from('aaaa')));
    // Held back: at most what could still start a value.
    out.push(m.push(Buffer.from(' y')));
    expect(Buffer.concat([...out, m.end()]).toString()).toBe(`x ${M} y`);
    expect(out[0]!.toString()).toBe(`x ${M}`);
    expect(out.slice(1, -1).every((b) => b.length === 0)).toBe(true);
  });

  it('a nested value found later widens a span found earlier', () => {
    expect(createRedactor({ values: ['cdcd', 'abcdcdef'] }).redactString('-abcdcdef-')).toBe(
      `-${M}-`,
    );
    expect(streamed(['cdcd', 'abcdcdef'], [Buffer.from('-abcdc'), Buffer.from('def-')])).toBe(
      `-${M}-`,
    );
  });

  it('the adversarial text for a trie (a run of a value prefix) is read once', () => {
    const value = `${'a'.repeat(64)}!`;
    const text = 'a'.repeat(1_000_000);
    expect(createRedactor({ values: [value] }).redactString(`${text}${value}b`)).toBe(
      `${'a'.repeat(1_000_000)}${M}b`,
    );
    const m = createStreamMasker([value]);
    let out = 0;
    for (let i = 0; i < 16; i++) out += m.push(Buffer.from(text)).length;
    expect(out + m.end().length).toBe(16 * text.length);
  });
});

describe('encoded forms', () => {
  const value = fc.string({ unit: 'grapheme', minLength: 4, maxLength: 24 });
  const bytes = fc.uint8Array({ maxLength: 7 });

  it('property: a value inside any base64, base64url or hex blob is masked', () => {
    fc.assert(
      fc.property(value, bytes, bytes, fc.boolean(), (v, before, after, upper) => {
        fc.pre(Buffer.byteLength(v) >= 6);
        const raw = Buffer.concat([before, Buffer.from(v), after]);
        const blobs = [raw.toString('base64'), raw.toString('base64url')];
        const hex = Buffer.from(v).toString('hex');
        blobs.push(`${Buffer.from(before).toString('hex')}${upper ? hex.toUpperCase() : hex}`);
        const r = createRedactor({ values: [v] });
        for (const blob of blobs) {
          const out = r.redactString(blob);
          expect(out).toContain(M);
          // At most the characters that mix the value's bits with its neighbours' remain.
          expect(out.length).toBeLessThanOrEqual(blob.length - 6 + M.length);
          expect(streamed([v], [Buffer.from(blob)])).toBe(out);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a standalone base64 encoding is masked whole, with its padding left', () => {
    const v = 'hunter2!x';
    const r = createRedactor({ values: [v] });
    expect(r.redactString(`pw=${Buffer.from(v).toString('base64')};`)).toBe(`pw=${M};`);
    const short = createRedactor({ values: ['hunter2!'] });
    expect(short.redactString(`pw=${Buffer.from('hunter2!').toString('base64')};`)).toBe(
      `pw=${M}=;`,
    );
    expect(r.redactString(`h=${Buffer.from(v).toString('hex')}`)).toBe(`h=${M}`);
    expect(r.redactString(`q=${encodeURIComponent('hunter2!x')}`)).toBe(`q=${M}`);
  });

  it('property: a value percent-encoded the usual ways is masked (lowercase hex, / kept, form, RFC 3986 strict)', () => {
    fc.assert(
      fc.property(value, (v) => {
        let uri: string;
        try {
          uri = encodeURIComponent(v);
        } catch {
          return; // a lone surrogate has no percent-encoding
        }
        // RFC 3986 strict, byte by byte (Python's quote / quote_plus, curl, Go).
        const strict = (safe: string, space = '%20') =>
          [...Buffer.from(v, 'utf8')]
            .map((b) => {
              const c = String.fromCharCode(b);
              if (/[A-Za-z0-9\-._~]/.test(c) || safe.includes(c)) return c;
              return c === ' ' ? space : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
            })
            .join('');
        const forms = [
          uri,
          uri.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
          uri.replace(/%2F/g, '/'),
          new URLSearchParams({ q: v }).toString().slice(2),
          strict(''),
          strict('/'),
          strict('', '+'),
        ];
        const r = createRedactor({ values: [v] });
        for (const f of forms) {
          expect(r.redactString(`a=${f}&b=1`), f).toBe(`a=${M}&b=1`);
          expect(streamed([v], [Buffer.from(`a=${f}&b=1`)])).toBe(`a=${M}&b=1`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('leaves out forms too short to be told from ordinary text, and the value itself', () => {
    expect(valueForms('abcd').every((f) => f.length >= 6 && f !== 'abcd')).toBe(true);
    expect(valueForms('plainvalue')).not.toContain('plainvalue');
    expect(valueForms('a"b\\c')).toContain('a\\"b\\\\c');
  });
});
