/**
 * A deliberately naive model of redaction for the property tests of src/core/redact: every
 * occurrence of every value (and of its JSON-escaped and percent-encoded forms) is found with
 * `indexOf`, overlapping occurrences are merged, and each merged span becomes the marker.
 * It shares no matching code with the automaton in src/core/redact/matcher.ts.
 */
import fc from 'fast-check';
import { valueForms } from '../../src/core/redact/matcher.js';

/**
 * The forms a value is searched in: itself and its encoded forms (JSON-escaped,
 * percent-encoded, base64, hex; the encodings are tested on their own in matcher.test.ts).
 */
export function forms(value: string): string[] {
  return [value, ...valueForms(value)];
}

/** The values the redactor must find: at least `minLength` code points, in every form. */
export function needles(values: readonly string[], minLength = 4): string[] {
  return [...new Set(values.filter((v) => v !== '' && [...v].length >= minLength).flatMap(forms))];
}

/** `text` with every occurrence of the needles of `values` replaced, overlaps merged. */
export function referenceRedact(
  text: string,
  values: readonly string[],
  marker = '[REDACTED]',
  minLength = 4,
): string {
  const spans: [number, number][] = [];
  for (const n of needles(values, minLength)) {
    for (let i = text.indexOf(n); i >= 0; i = text.indexOf(n, i + 1)) spans.push([i, i + n.length]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [s, e] of spans) {
    const last = merged[merged.length - 1];
    if (last !== undefined && s < last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  let out = '';
  let from = 0;
  for (const [s, e] of merged) {
    out += text.slice(from, s) + marker;
    from = e;
  }
  return out + text.slice(from);
}

/**
 * A small alphabet, so that generated values overlap, nest and prefix each other often; it
 * holds multibyte characters (2 and 4 UTF-8 bytes), a quote and a backslash, and no character
 * of the default marker.
 */
export const SYMBOL: fc.Arbitrary<string> = fc.constantFrom('a', 'b', 'é', '😀', '"', '\\', ' ');

/** Secret values over `SYMBOL`, some below the minimum length. */
export const valuesArb: fc.Arbitrary<string[]> = fc.array(
  fc.string({ unit: SYMBOL, minLength: 0, maxLength: 8 }),
  { minLength: 1, maxLength: 4 },
);

/** A text that contains some of `values`, with filler around and between them. */
export function textWith(values: readonly string[]): fc.Arbitrary<string> {
  const piece = fc.oneof(
    fc.constantFrom(...values),
    fc.string({ unit: fc.oneof(SYMBOL, fc.constantFrom('x', '\n')), maxLength: 6 }),
  );
  return fc.array(piece, { maxLength: 10 }).map((parts) => parts.join(''));
}

/** Values and a text made from them. */
export const valuesAndText: fc.Arbitrary<{ values: string[]; text: string }> = valuesArb.chain(
  (values) => textWith(values).map((text) => ({ values, text })),
);

/** `bytes` cut at the given points (taken modulo its length + 1, sorted, deduplicated). */
export function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}
