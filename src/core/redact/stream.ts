/**
 * Masks secret values in a byte stream, such as a child process's stdout (`coffer run
 * --mask`). Values are compared as UTF-8 bytes with the same rules as `redactString` (longest
 * first, overlaps hidden together, one fixed marker, values under `minLength` code points
 * ignored), so for valid UTF-8 the output equals the one-shot redaction of the whole input,
 * however the input is split into chunks: a value split across chunks is still masked, and a
 * multibyte character split across chunks passes through intact.
 *
 * Latency: after each chunk only the bytes that could still be the start of a value are held
 * back (at most the longest value's length minus one); a chunk with no possible partial match
 * at its end goes out at once, entirely. `end()` flushes what is held back.
 *
 * Not done here: the secret patterns of `patterns.ts` (a regular expression cannot be resumed
 * across chunks), decoding or re-encoding text. Invalid UTF-8 is passed through byte for byte.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { checkMarker, DEFAULT_MARKER, DEFAULT_MIN_LENGTH, selectValues, Trie } from './matcher.js';

export interface StreamMasker {
  /** Masks one chunk; returns what can be emitted now (possibly empty). */
  push(chunk: Buffer): Buffer;
  /** Ends the input: returns the masked bytes that were held back. */
  end(): Buffer;
}

export interface StreamMaskerOptions {
  /** Shortest value masked, in code points. Default 4; empty values never are. */
  minLength?: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * The masker as a pure object, testable without streams.
 * @throws TypeError for a non-string value; RangeError for an empty marker or a negative
 *   `minLength`.
 * @example
 * ```ts
 * const m = createStreamMasker(['hunter2!']);
 * m.push(Buffer.from('pass: hunt')); // 'pass: ' (the rest could start the value)
 * m.push(Buffer.from('er2!\n'));     // '[REDACTED]\n'
 * m.end();                          // ''
 * ```
 */
export function createStreamMasker(
  values: readonly string[],
  marker: string = DEFAULT_MARKER,
  options: StreamMaskerOptions = {},
): StreamMasker {
  const mark = Buffer.from(checkMarker(marker), 'utf8');
  const needles = selectValues(values, options.minLength ?? DEFAULT_MIN_LENGTH).map((v) =>
    Buffer.from(v, 'utf8'),
  );
  const trie = new Trie(needles, 256);
  /** Bytes held back: the undecided tail of the input so far (a copy, never a caller view). */
  let pending = EMPTY;
  /** How many bytes at the start of `pending` are already covered by an emitted marker. */
  let covered = 0;
  let ended = false;

  const scan = (data: Buffer, final: boolean): Buffer => {
    if (trie.maxLength === 0) return data;
    const { spans, stop } = trie.findSpans(data, covered, final);
    if (spans.length === 0 && stop === data.length) {
      covered = 0;
      pending = EMPTY;
      return data;
    }
    const out: Buffer[] = [];
    let from = 0;
    for (let k = 0; k < spans.length; k += 2) {
      const start = spans[k]!;
      // A span from 0 while `covered` > 0 continues one whose marker is already out.
      if (!(k === 0 && covered > 0)) out.push(data.subarray(from, start), mark);
      from = spans[k + 1]!;
    }
    if (from < stop) out.push(data.subarray(from, stop));
    covered = Math.max(0, from - stop);
    pending = stop < data.length ? Buffer.from(data.subarray(stop)) : EMPTY;
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  };

  return {
    push(chunk: Buffer): Buffer {
      if (ended) throw new Error('push after end');
      if (chunk.length === 0) return EMPTY;
      return scan(pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk, false);
    },
    end(): Buffer {
      if (ended) return EMPTY;
      ended = true;
      const out = pending.length > 0 ? scan(pending, true) : EMPTY;
      pending = EMPTY;
      return out;
    },
  };
}

/**
 * A Transform stream around `createStreamMasker`: pipe a child's stdout through it. String
 * chunks written to it are encoded as UTF-8 first (the Writable default).
 * @example
 * ```ts
 * child.stdout.pipe(createMaskingTransform(secretValues)).pipe(process.stdout);
 * ```
 */
export function createMaskingTransform(
  values: readonly string[],
  marker?: string,
  options: StreamMaskerOptions = {},
): Transform {
  const masker = createStreamMasker(values, marker, options);
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      const out = masker.push(chunk);
      callback(null, out.length > 0 ? out : undefined);
    },
    flush(callback: TransformCallback): void {
      const out = masker.end();
      callback(null, out.length > 0 ? out : undefined);
    },
  });
}
