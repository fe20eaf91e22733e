import { Readable, Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  needles,
  referenceRedact,
  splitAt,
  valuesAndText,
  valuesArb,
} from '../../../test/helpers/redact-reference.js';
import {
  createMaskingTransform,
  createRedactor,
  createStreamMasker,
  type StreamMaskerOptions,
} from './index.js';
import { createMaskingSinks, createMaskingWriters } from './stream.js';

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

  it('property: holds back fewer bytes than the longest form, and only while a form may start', () => {
    fc.assert(
      fc.property(
        valuesArb,
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (values, picks, cuts) => {
          const all = needles(values);
          fc.pre(all.length > 0);
          // Proper prefixes of the forms: text that keeps looking like a value starting.
          const text = picks
            .map(([w, k]) => {
              const f = all[w % all.length]!;
              return f.slice(0, k % f.length);
            })
            .join('');
          fc.pre(referenceRedact(text, values) === text);
          const longest = Math.max(...all.map((f) => Buffer.byteLength(f)));
          const m = createStreamMasker(values);
          let pushed = 0;
          let out = 0;
          for (const chunk of splitAt(Buffer.from(text), cuts)) {
            pushed += chunk.length;
            out += m.push(chunk).length;
            expect(pushed - out).toBeLessThanOrEqual(longest - 1);
          }
          expect(out + m.end().length).toBe(pushed);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: a text made only of copies of a value never shows it', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9]{6,16}$/),
        fc.array(fc.nat(), { maxLength: 5 }),
        (v, cuts) => {
          const text = `${v}${v} ${v}\n${v}`;
          const out = run([v], splitAt(Buffer.from(text), cuts));
          // Only markers around the separators. A value that repeats itself (`abcabc`) also
          // occurs across the seam of two copies, and overlapping matches are one marker.
          expect(out.split(M).join('')).toBe(' \n');
          expect(out).not.toContain(v);
          if (!`${v}${v}`.slice(1, -1).includes(v)) expect(out).toBe(`${M}${M} ${M}\n${M}`);
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

describe('createMaskingWriters', () => {
  it('property: any chunking, into any destination, gives the one-shot result', async () => {
    await fc.assert(
      fc.asyncProperty(
        valuesAndText,
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        async ({ values, text }, cuts, gathers, slow) => {
          const dest = sink(gathers, slow);
          const [writer] = createMaskingWriters(values, [dest.stream]);
          await new Promise<void>((resolve, reject) => {
            writer!.on('error', reject);
            Readable.from(splitAt(Buffer.from(text), cuts), { objectMode: false })
              .pipe(writer!)
              .on('finish', resolve);
          });
          // The destination is not ended by the writer; end it to wait for what it has queued.
          expect(dest.stream.writableEnded).toBe(false);
          await new Promise((resolve) => dest.stream.end(resolve));
          expect(dest.text()).toBe(referenceRedact(text, values));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('writes a chunk with several values in one gathered write, its text as views', () => {
    const writes: number[] = [];
    const dest = new Writable({
      write(_chunk, _encoding, callback) {
        writes.push(1);
        callback();
      },
      writev(chunks, callback) {
        writes.push(chunks.length);
        callback();
      },
    });
    const [writer] = createMaskingWriters(['secret-one', 'secret-two'], [dest]);
    writer!.write(Buffer.from('a secret-one b secret-two c\n'));
    expect(writes).toEqual([5]);
  });

  it('each writer masks into its own destination; the options are checked', async () => {
    const a = sink(true, false);
    const b = sink(false, false);
    const [out, err] = createMaskingWriters(['hunter2!'], [a.stream, b.stream]);
    out!.end('1 hunter2! 1');
    err!.end('2 hunter2! 2');
    await Promise.all([out, err].map((w) => new Promise((r) => w!.on('finish', r))));
    expect([a.text(), b.text()]).toEqual([`1 ${M} 1`, `2 ${M} 2`]);
    expect(() => createMaskingWriters(['x'], [a.stream], { marker: '' })).toThrow(RangeError);
    expect(() => createMaskingWriters(['x'], [a.stream], { fastAfter: -1 })).toThrow(RangeError);
  });
});

/**
 * A destination that records what it is given; `gathers`: it has a `_writev` (a pipe, a
 * socket). When `slow`, it reads the bytes only when it completes the write (as a socket does
 * whose buffer is full): a caller that reused its buffer before then would change what comes
 * out.
 */
function sink(gathers: boolean, slow: boolean): { stream: Writable; text: () => string } {
  const got: Buffer[] = [];
  const take = (chunks: Buffer[], callback: () => void) => {
    const done = () => {
      for (const c of chunks) got.push(Buffer.from(c));
      callback();
    };
    if (slow) setImmediate(done);
    else done();
  };
  const stream = new Writable({
    highWaterMark: slow ? 4 : 16384,
    write: (chunk: Buffer, _encoding, callback) => take([chunk], callback),
    ...(gathers
      ? {
          writev: (cs: { chunk: Buffer }[], callback: () => void) =>
            take(
              cs.map((c) => c.chunk),
              callback,
            ),
        }
      : {}),
  });
  return { stream, text: () => Buffer.concat(got).toString('utf8') };
}

describe('createMaskingSinks', () => {
  it('property: chunks read into one reused buffer, any destination, give the one-shot result', async () => {
    await fc.assert(
      fc.asyncProperty(
        valuesAndText,
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        async ({ values, text }, cuts, gathers, slow) => {
          const dest = sink(gathers, slow);
          const [masking] = createMaskingSinks(values, [dest.stream]);
          const bytes = Buffer.from(text);
          const reused = Buffer.alloc(Math.max(1, bytes.length));
          for (const piece of splitAt(bytes, cuts)) {
            piece.copy(reused);
            const chunk = reused.subarray(0, piece.length);
            let resume = () => {};
            const resumed = new Promise<void>((r) => {
              resume = r;
            });
            if (!masking!.write(chunk, resume)) await resumed;
            reused.fill(0x23); // what the next read would overwrite
          }
          await new Promise<void>((r) => masking!.end(r));
          expect(dest.stream.writableLength).toBe(0);
          expect(dest.text()).toBe(referenceRedact(text, values));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('asks the reader to wait while the destination holds part of the chunk', async () => {
    const dest = sink(true, true);
    const [masking] = createMaskingSinks(['secret-one'], [dest.stream]);
    let resumed = 0;
    expect(masking!.write(Buffer.from('a secret-one b\n'), () => resumed++)).toBe(false);
    expect(resumed).toBe(0);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(resumed).toBe(1);
    expect(dest.text()).toBe(`a ${M} b\n`);
    const fast = sink(true, false);
    const [quick] = createMaskingSinks(['secret-one'], [fast.stream]);
    expect(quick!.write(Buffer.from('a secret-one b\n'), () => {})).toBe(true);
  });
});
