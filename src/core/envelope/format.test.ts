/**
 * The envelope text itself: the fast reader of the canonical form must agree with the
 * reference JSON.parse reader on any text (valid, mutated, respelled), and the pooled nonces
 * must not repeat, also across refills of the pool.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import { type EnvelopeParts, parseEnvelope, readEnvelope, sealEnvelopeText } from './format.js';

const key = new Uint8Array(randomBytes(32));

/** What a reader made of a text: its parts, or the code of the error it threw. */
function outcome(read: (s: unknown) => EnvelopeParts, text: unknown): unknown {
  try {
    const p = read(text);
    return { kid: p.kid, iv: p.iv.toString('hex'), ct: p.ct.toString('hex') };
  } catch (err) {
    if (!(err instanceof CofferError)) throw err;
    return err.code;
  }
}

/** Envelope texts, including edits of the canonical form that the fast path must refuse. */
const envelopeText = fc
  .record({
    kid: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,8}$/),
    value: fc.jsonValue({ maxDepth: 1 }),
    context: fc.string({ maxLength: 20 }),
  })
  .map(({ kid, value, context }) => sealEnvelopeText(key, kid, JSON.stringify(value), context));

type Edit =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'insert'; at: number; ch: string }
  | { kind: 'delete'; at: number }
  | { kind: 'duplicate-ct' };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    mask: fc.integer({ min: 1, max: 127 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    ch: fc.constantFrom('"', '\\', ' ', '=', '+', '/', 'A', '}', ','),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate-ct' as const) }),
);

function applyEdit(text: string, e: Edit): string {
  if (e.kind === 'duplicate-ct') return text.replace(/\}$/, `,"ct":"${'A'.repeat(24)}"}`);
  const i = e.at % (text.length + (e.kind === 'insert' ? 1 : 0));
  if (e.kind === 'insert') return text.slice(0, i) + e.ch + text.slice(i);
  if (e.kind === 'delete') return text.slice(0, i) + text.slice(i + 1);
  return text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ e.mask) + text.slice(i + 1);
}

describe('parseEnvelope', () => {
  it('the canonical fast path and the JSON.parse reader agree on valid envelopes', () => {
    fc.assert(
      fc.property(envelopeText, (text) => {
        const fast = outcome(parseEnvelope, text);
        expect(typeof fast).toBe('object');
        expect(fast).toEqual(outcome(readEnvelope, text));
        // A respelling (spaces, other order) goes the slow way to the same parts.
        const obj = JSON.parse(text) as Record<string, unknown>;
        const respelled = JSON.stringify(
          { ct: obj.ct, kid: obj.kid, coffer: 1, iv: obj.iv },
          null,
          2,
        );
        expect(outcome(parseEnvelope, respelled)).toEqual(fast);
      }),
      { numRuns: 200 },
    );
  });

  it('and on edited ones: same parts or same error code, never a fast-path-only reading', () => {
    fc.assert(
      fc.property(envelopeText, fc.array(edit, { minLength: 1, maxLength: 3 }), (text, edits) => {
        const changed = edits.reduce(applyEdit, text);
        expect(outcome(parseEnvelope, changed)).toEqual(outcome(readEnvelope, changed));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('sealEnvelopeText', () => {
  it('never repeats a nonce, across refills of the nonce pool', () => {
    const ivs = new Set<string>();
    const n = 3000; // the pool holds 341 nonces: this crosses about nine refills
    for (let i = 0; i < n; i++) {
      ivs.add((JSON.parse(sealEnvelopeText(key, 'k1', '1', 'c')) as { iv: string }).iv);
    }
    expect(ivs.size).toBe(n);
  });

  it('takes a string or its UTF-8 bytes, with the same result for the same nonce', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.uint8Array({ minLength: 12, maxLength: 12 }), (v, nonce) => {
        const text = JSON.stringify(v);
        expect(sealEnvelopeText(key, 'k1', text, 'ctx', nonce)).toBe(
          sealEnvelopeText(key, 'k1', Buffer.from(text, 'utf8'), 'ctx', nonce),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('counts the size limit in UTF-8 bytes', () => {
    const limit = 1024 * 1024;
    // Fewer UTF-16 units than the limit, but more UTF-8 bytes (each euro sign is 3 bytes).
    const wide = `"${'€'.repeat(Math.ceil((limit - 1) / 3))}"`;
    expect(wide.length).toBeLessThan(limit);
    expect(() => sealEnvelopeText(key, 'k1', wide, 'c')).toThrow(RangeError);
    const ascii = `"${'a'.repeat(limit - 2)}"`;
    expect(JSON.parse(sealEnvelopeText(key, 'k1', ascii, 'c'))).toHaveProperty('kid', 'k1');
    expect(() => sealEnvelopeText(key, 'k1', `${ascii} `, 'c')).toThrow(RangeError);
  });
});
