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
import { buildMatcher, type MatcherOptions } from './matcher.js';

export interface StreamMasker {
  /** Masks one chunk; returns what can be emitted now (possibly empty, or a view of `chunk`). */
  push(chunk: Uint8Array): Buffer;
  /** Ends the input: returns the masked bytes that were held back. Later calls return nothing. */
  end(): Buffer;
}

/** `marker` (default `[REDACTED]`) and `minLength` (default 4 code points). */
export type StreamMaskerOptions = MatcherOptions;

const EMPTY = Buffer.alloc(0);

/**
 * The masker as a pure object, testable without streams.
 * @throws TypeError for values that are not an iterable of strings; RangeError for an empty
 *   marker or a negative `minLength`. `push` throws a TypeError for a chunk that is not bytes,
 *   and an Error after `end`.
 * @example
 * ```ts
 * const m = createStreamMasker(['hunter2!']);
 * m.push(Buffer.from('pass: hunt')); // 'pass: ' (the rest could start the value)
 * m.push(Buffer.from('er2!\n'));     // '[REDACTED]\n'
 * m.end();                          // ''
 * ```
 */
export function createStreamMasker(
  values: Iterable<string>,
  options: StreamMaskerOptions = {},
): StreamMasker {
  const { marker, trie } = buildMatcher(values, options, 'utf8');
  const mark = Buffer.from(marker, 'utf8');
  /** Bytes held back: the undecided tail of the input so far (a copy, never a caller view). */
  let pending = EMPTY;
  /** How many bytes at the start of `pending` are already covered by an emitted marker. */
  let covered = 0;
  let ended = false;

  const scan = (data: Buffer, final: boolean): Buffer => {
    if (trie.maxLength === 0) return data;
    const { spans, stop } = trie.findSpans(data, covered, final);
    if (spans.length === 0 && stop === data.length) {
      pending = EMPTY;
      return data;
    }
    const out: Buffer[] = [];
    let from = 0;
    for (let k = 0; k < spans.length; k += 2) {
      // A span from 0 while `covered` > 0 continues one whose marker is already out.
      if (!(k === 0 && covered > 0)) out.push(data.subarray(from, spans[k]), mark);
      from = spans[k + 1]!;
    }
    if (from < stop) out.push(data.subarray(from, stop));
    covered = Math.max(0, from - stop);
    // Copied: `data` may be the caller's chunk, which the caller is free to reuse.
    pending = stop < data.length ? Buffer.from(data.subarray(stop)) : EMPTY;
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  };

  return {
    push(chunk: Uint8Array): Buffer {
      if (!(chunk instanceof Uint8Array)) throw new TypeError('chunks must be Buffers');
      if (ended) throw new Error('push after end');
      if (chunk.length === 0) return EMPTY;
      const bytes = Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      return scan(pending.length > 0 ? Buffer.concat([pending, bytes]) : bytes, false);
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
  values: Iterable<string>,
  options: StreamMaskerOptions = {},
): Transform {
  const masker = createStreamMasker(values, options);
  const emit = (callback: TransformCallback, step: () => Buffer): void => {
    let out: Buffer;
    try {
      out = step();
    } catch (err) {
      callback(err as Error);
      return;
    }
    callback(null, out.length > 0 ? out : undefined);
  };
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      emit(callback, () => masker.push(chunk));
    },
    flush(callback: TransformCallback): void {
      emit(callback, () => masker.end());
    },
  });
}
