import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createStreamMasker, MASK_MARKER } from './mask-stream.js';

/** One-shot reference: replace values longest first, left to right. */
function reference(text: string, values: string[]): string {
  const vs = [...new Set(values)]
    .filter((v) => Buffer.byteLength(v) >= 4)
    .sort((a, b) => Buffer.byteLength(b) - Buffer.byteLength(a));
  let out = '';
  let i = 0;
  outer: while (i < text.length) {
    for (const v of vs) {
      if (text.startsWith(v, i)) {
        out += MASK_MARKER;
        i += v.length;
        continue outer;
      }
    }
    out += text[i];
    i++;
  }
  return out;
}

function run(values: string[], chunks: Buffer[]): string {
  const m = createStreamMasker(values);
  return Buffer.concat([...chunks.map((c) => m.push(c)), m.end()]).toString('utf8');
}

function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

describe('stream masker', () => {
  it('masks a value split across writes', () => {
    const m = createStreamMasker(['sk_live_abc123']);
    const a = m.push(Buffer.from('key=sk_live_'));
    const b = m.push(Buffer.from('abc123 done\n'));
    expect(a.toString()).toBe('key=');
    expect(Buffer.concat([a, b, m.end()]).toString()).toBe(`key=${MASK_MARKER} done\n`);
  });

  it('holds nothing back when no value can start at the end', () => {
    const m = createStreamMasker(['sk_live_abc123']);
    expect(m.push(Buffer.from('hello world\n')).toString()).toBe('hello world\n');
  });

  it('flushes a partial match at the end unchanged', () => {
    const m = createStreamMasker(['sk_live_abc123']);
    expect(Buffer.concat([m.push(Buffer.from('tail sk_live')), m.end()]).toString()).toBe(
      'tail sk_live',
    );
  });

  it('the marker does not depend on the value length', () => {
    expect(run(['abcd'], [Buffer.from('x abcd y')])).toBe(`x ${MASK_MARKER} y`);
    expect(run(['a'.repeat(500)], [Buffer.from(`x ${'a'.repeat(500)} y`)])).toBe(
      `x ${MASK_MARKER} y`,
    );
  });

  it('property: any chunking gives the one-shot result and leaves no value behind', () => {
    const value = fc
      .string({ unit: 'grapheme', minLength: 4, maxLength: 20 })
      .filter((v) => Buffer.byteLength(v) >= 4);
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 1, maxLength: 4 }),
        fc.array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 10 }), fc.constant('')), {
          maxLength: 6,
        }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (values, fillers, cuts) => {
          let text = '';
          for (let i = 0; i < fillers.length; i++) text += fillers[i]! + values[i % values.length]!;
          const buf = Buffer.from(text, 'utf8');
          const got = run(values, split(buf, cuts));
          expect(got).toBe(reference(text, values));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('property: a text made of values and the marker never shows a value after masking', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9]{6,16}$/),
        fc.array(fc.nat(), { maxLength: 5 }),
        (v, cuts) => {
          const text = `${v}${v} ${v}\n${v}`;
          expect(run([v], split(Buffer.from(text), cuts))).not.toContain(v);
        },
      ),
      { numRuns: 200 },
    );
  });
});
