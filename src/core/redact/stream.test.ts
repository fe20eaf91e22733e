import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  needles,
  referenceRedact,
  splitAt,
  valuesAndText,
} from '../../../test/helpers/redact-reference.js';
import {
  createMaskingTransform,
  createRedactor,
  createStreamMasker,
  type StreamMaskerOptions,
} from './index.js';

const M = '[REDACTED]';

/** Feeds `chunks` to a fresh masker and returns everything it emitted. */
function run(values: string[], chunks: Uint8Array[], options?: StreamMaskerOptions): string {
  const m = createStreamMasker(values, options);
  return Buffer.concat([...chunks.map((c) => m.push(c)), m.end()]).toString('utf8');
}

describe('createStreamMasker', () => {
  it('masks a value split across writes and emits the safe part at once', () => {
    const m = createStreamMasker(['sk_live_abc123']);
    const a = m.push(Buffer.from('key=sk_live_'));
    const b = m.push(Buffer.from('abc123 done\n'));
    expect(a.toString()).toBe('key=');
    expect(Buffer.concat([a, b, m.end()]).toString()).toBe(`key=${M} done\n`);
  });

  it('holds nothing back when no value can start at the end of a chunk', () => {
    const m = createStreamMasker(['sk_live_abc123']);
    expect(m.push(Buffer.from('hello world\n')).toString()).toBe('hello world\n');
    expect(m.end().length).toBe(0);
  });

  it('flushes a partial match at the end unchanged', () => {
    const m = createStreamMasker(['sk_live_abc123']);
    expect(m.push(Buffer.from('tail sk_live')).toString()).toBe('tail ');
    expect(m.end().toString()).toBe('sk_live');
    expect(m.end().length).toBe(0);
    expect(() => m.push(Buffer.from('x'))).toThrow('push after end');
  });

  it('the marker does not depend on the value length', () => {
    expect(run(['abcd'], [Buffer.from('x abcd y')])).toBe(`x ${M} y`);
    expect(run(['a'.repeat(500)], [Buffer.from(`x ${'a'.repeat(500)} y`)])).toBe(`x ${M} y`);
  });

  it('masks at every split position, and at every pair of split positions', () => {
    const values = ['abcd', 'cdef', 'abcdefgh', 'é😀é😀'];
    const text = 'xabcdefx abcdefgh-abcd|é😀é😀é😀é😀!';
    const bytes = Buffer.from(text);
    const expected = createRedactor({ values }).redactString(text);
    // The three overlapping copies of 'é😀é😀' in 'é😀é😀é😀é😀' become one span.
    expect(expected).toBe(`x${M}x ${M}-${M}|${M}!`);
    for (let i = 0; i <= bytes.length; i++) {
      expect(run(values, splitAt(bytes, [i])), `cut ${i}`).toBe(expected);
      for (let j = i; j <= bytes.length; j++) {
        expect(run(values, splitAt(bytes, [i, j])), `cuts ${i},${j}`).toBe(expected);
      }
    }
  });

  it('passes multibyte characters split across chunks through intact, one byte at a time', () => {
    const text = 'é€😀 naïve 😀😀😀😀 ok';
    const bytes = Buffer.from(text);
    const oneByOne = [...bytes].map((b) => Buffer.from([b]));
    expect(run(['😀😀😀😀'], oneByOne)).toBe(`é€😀 naïve ${M} ok`);
    expect(run([], oneByOne)).toBe(text);
  });

  it('ignores empty and short values, and honours marker and minLength', () => {
    expect(run(['', 'ab', 'abc'], [Buffer.from('ab abc abcd')])).toBe('ab abc abcd');
    expect(run(['ab'], [Buffer.from('ab abc')], { minLength: 2, marker: '*' })).toBe('* *c');
    expect(() => createStreamMasker([], { marker: '' })).toThrow(RangeError);
    expect(() => createStreamMasker([3 as unknown as string])).toThrow(TypeError);
    expect(() => createStreamMasker([]).push('text' as unknown as Buffer)).toThrow(TypeError);
  });

  it('keeps a copy of the held-back bytes, not a view of the caller’s chunk', () => {
    const m = createStreamMasker(['secret-value']);
    const chunk = Buffer.from('a secret-');
    const first = m.push(chunk).toString();
    chunk.fill(0x78); // the caller reuses its buffer once the output is consumed
    const rest = Buffer.concat([m.push(Buffer.from('value b')), m.end()]);
    expect(first + rest.toString()).toBe(`a ${M} b`);
  });

  it('accepts plain Uint8Arrays', () => {
    const enc = new TextEncoder();
    expect(run(['secret-value'], [enc.encode('x secret-'), enc.encode('value y')])).toBe(
      `x ${M} y`,
    );
  });

  it('property: any chunking gives the one-shot string result and leaves no value', () => {
    fc.assert(
      fc.property(valuesAndText, fc.array(fc.nat(), { maxLength: 8 }), ({ values, text }, cuts) => {
        const out = run(values, splitAt(Buffer.from(text), cuts));
        expect(out).toBe(referenceRedact(text, values));
        expect(out).toBe(createRedactor({ values }).redactString(text));
        for (const v of needles(values)) expect(out).not.toContain(v);
      }),
      { numRuns: 500 },
    );
  });

  it('property: a text made only of copies of a value never shows it', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9]{6,16}$/),
        fc.array(fc.nat(), { maxLength: 5 }),
        (v, cuts) => {
          const text = `${v}${v} ${v}\n${v}`;
          expect(run([v], splitAt(Buffer.from(text), cuts))).toBe(`${M}${M} ${M}\n${M}`);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('createMaskingTransform', () => {
  it('masks a piped stream, strings and buffers alike', async () => {
    const source = Readable.from(['id=sk_live_', Buffer.from('abc123\nbye sk_live'), '_abc123'], {
      objectMode: false,
    });
    const out = await buffer(source.pipe(createMaskingTransform(['sk_live_abc123'])));
    expect(out.toString()).toBe(`id=${M}\nbye ${M}`);
  });

  it('passes everything through when there is nothing to mask', async () => {
    const out = await buffer(
      Readable.from([Buffer.from('plain\n')]).pipe(createMaskingTransform([])),
    );
    expect(out.toString()).toBe('plain\n');
  });
});
