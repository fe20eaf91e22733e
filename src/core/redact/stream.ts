/**
 * Masks secret values in a byte stream, such as a child process's stdout (`coffer run
 * --mask`). Values are compared as UTF-8 bytes with the same rules as `redactString` (the
 * union of all occurrences of values and their encoded forms, overlaps hidden together, one
 * fixed marker, values under `minLength` code points ignored), so for valid UTF-8 the output equals the one-shot redaction of the whole input,
 * however the input is split into chunks: a value split across chunks is still masked, and a
 * multibyte character split across chunks passes through intact.
 *
 * Latency: after each chunk only the bytes that could still be the start of a value are held
 * back (fewer than the longest form's length); a chunk with no possible partial match at its
 * end goes out at once, entirely. A span that may still grow at its end has its marker written at
 * once, and what it covers is dropped as it arrives. `end()` flushes what is held back.
 * Linear in the input whatever the text (see `matcher.ts`).
 *
 * Not done here: the secret patterns of `patterns.ts` (a regular expression cannot be resumed
 * across chunks), decoding or re-encoding text. Invalid UTF-8 is passed through byte for byte.
 */
import { Transform, type TransformCallback, Writable } from 'node:stream';
import { type Automaton, buildMatcher, type MatcherOptions, newCursor } from './matcher.js';

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
  const { marker, automaton } = buildMatcher(values, options, 'utf8');
  return maskerOf(Buffer.from(marker, 'utf8'), automaton);
}

/**
 * The masker with its output in pieces: views of the chunk for the unchanged text, the
 * marker for each span, a copy only of bytes held back from an earlier chunk. Written with
 * one gathered write, the chunk is never copied.
 */
interface PartsMasker {
  push(chunk: Uint8Array): Buffer[];
  end(): Buffer[];
}

const NONE: Buffer[] = [];

/** One Buffer of `parts` (the only one itself, without a copy). */
function joined(parts: Buffer[]): Buffer {
  if (parts.length === 0) return EMPTY;
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** The pure masker over a parts masker. */
function joinedMasker(parts: PartsMasker): StreamMasker {
  return {
    push: (chunk) => joined(parts.push(chunk)),
    end: () => joined(parts.end()),
  };
}

/** A masker over a built automaton (which holds no per-stream state, so maskers share it). */
function maskerOf(mark: Buffer, automaton: Automaton): StreamMasker {
  return joinedMasker(partsMaskerOf(mark, automaton));
}

function partsMaskerOf(mark: Buffer, automaton: Automaton): PartsMasker {
  const cursor = newCursor();
  /**
   * Bytes not emitted yet, from absolute offset `emitted` to `cursor.pos` (a copy): fewer
   * than the longest form's length, since a state is never deeper than its longest key.
   */
  let held = EMPTY;
  let emitted = 0;
  /** The first span of `cursor.spans` already has its marker out (only its end may grow). */
  let marked = false;
  let ended = false;

  /**
   * Emits what is decided after `chunk` (absolute offset `at`) was scanned: every span that
   * ends before `boundary` and the text around it, the marker of a span whose start is fixed,
   * and the text up to the next span that may still grow leftwards or the boundary.
   */
  const emit = (chunk: Buffer, at: number, boundary: number): Buffer[] => {
    const spans = cursor.spans;
    if (spans.length === 0 && held.length === 0 && boundary === cursor.pos) {
      emitted = cursor.pos;
      return [chunk];
    }
    const from = emitted; // `held` starts here, `chunk` at `at`
    const out: Buffer[] = [];
    /** Appends the bytes from absolute `a` to `b` (in `held`, then `chunk`) to `out`. */
    const text = (a: number, b: number): void => {
      if (a >= b) return;
      if (a < at) out.push(held.subarray(a - from, Math.min(b, at) - from));
      if (b > at) out.push(chunk.subarray(Math.max(a, at) - at, b - at));
    };
    let k = 0;
    for (; k < spans.length; k += 2) {
      const start = spans[k]!;
      const end = spans[k + 1]!;
      if (start > boundary) break; // a later span could still start before it
      if (!(k === 0 && marked)) {
        text(emitted, start);
        out.push(mark);
      }
      emitted = end;
      marked = end > boundary; // it may still grow: what it covers so far is dropped
      if (marked) break;
    }
    if (k > 0) spans.splice(0, k);
    if (!marked) {
      const limit = spans.length > 0 ? Math.min(boundary, spans[0]!) : boundary;
      if (limit > emitted) {
        text(emitted, limit);
        emitted = limit;
      }
    }
    // Copied: `chunk` is the caller's, which the caller is free to reuse.
    const keep = cursor.pos - emitted;
    if (keep === 0) held = EMPTY;
    else {
      const next = Buffer.allocUnsafe(keep);
      const fromHeld = Math.max(0, Math.min(at, cursor.pos) - emitted);
      if (fromHeld > 0) held.copy(next, 0, emitted - from, emitted - from + fromHeld);
      if (keep > fromHeld) chunk.copy(next, fromHeld, emitted + fromHeld - at, cursor.pos - at);
      held = next;
    }
    return out;
  };

  return {
    push(chunk: Uint8Array): Buffer[] {
      if (!(chunk instanceof Uint8Array)) throw new TypeError('chunks must be Buffers');
      if (ended) throw new Error('push after end');
      if (chunk.length === 0) return NONE;
      const bytes = Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (automaton.maxLength === 0) return [bytes];
      const at = cursor.pos;
      automaton.scanBytes(bytes, bytes.length, cursor);
      return emit(bytes, at, cursor.pos - automaton.depth[cursor.state]!);
    },
    end(): Buffer[] {
      if (ended) return NONE;
      ended = true;
      if (held.length === 0 && cursor.spans.length === 0) return NONE;
      const out = emit(EMPTY, cursor.pos, cursor.pos);
      held = EMPTY;
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
  return transformOf(createStreamMasker(values, options));
}

/**
 * `count` masking Transforms for the same values, sharing one automaton (built once): a
 * child's stdout and stderr.
 */
export function createMaskingTransforms(
  values: Iterable<string>,
  count: number,
  options: StreamMaskerOptions = {},
): Transform[] {
  const { marker, automaton } = buildMatcher(values, options, 'utf8');
  const mark = Buffer.from(marker, 'utf8');
  return Array.from({ length: count }, () => transformOf(maskerOf(mark, automaton)));
}

/**
 * Writables that mask what is written to them and write it on into `dests[i]` (a child's
 * stdout and stderr into coffer's own), sharing one automaton (built once). Each chunk goes
 * out in one gathered write when the destination takes one (a pipe, a socket), the unchanged
 * text as views of the chunk; into a destination that writes piece by piece (a file) as one
 * Buffer. Backpressure passes through: a chunk is done when its destination has taken it.
 * Ending a writer writes what was held back; the destination itself is never ended.
 * @example
 * ```ts
 * const [out] = createMaskingWriters(values, [process.stdout]);
 * child.stdout.pipe(out);
 * ```
 */
export function createMaskingWriters(
  values: Iterable<string>,
  dests: readonly NodeJS.WritableStream[],
  options: StreamMaskerOptions = {},
): Writable[] {
  const { marker, automaton } = buildMatcher(values, options, 'utf8');
  const mark = Buffer.from(marker, 'utf8');
  return dests.map((dest) => writerOf(partsMaskerOf(mark, automaton), dest));
}

/**
 * Masks one stream of chunks read into a buffer that the reader reuses (a socket read with
 * `onread`), writing what is decided into a destination. `write` returns true when the
 * destination holds nothing of `chunk` any more (its bytes went out, or were copied), false
 * when it still does: the reader must not reuse the buffer before `resume` is called.
 */
export interface MaskingSink {
  write(chunk: Buffer, resume: () => void): boolean;
  /** Writes what was held back; `done` is called once the destination took it. */
  end(done: () => void): void;
}

/**
 * `createMaskingWriters` for readers that reuse their buffer: one sink per destination,
 * sharing one automaton (built once). Each chunk goes out in one gathered write when the
 * destination takes one, the unchanged text as views of the chunk (never copied).
 */
export function createMaskingSinks(
  values: Iterable<string>,
  dests: readonly NodeJS.WritableStream[],
  options: StreamMaskerOptions = {},
): MaskingSink[] {
  const { marker, automaton } = buildMatcher(values, options, 'utf8');
  const mark = Buffer.from(marker, 'utf8');
  return dests.map((dest) => sinkOf(partsMaskerOf(mark, automaton), dest as Writable));
}

function sinkOf(masker: PartsMasker, dest: Writable): MaskingSink {
  const gathers = typeof (dest as { _writev?: unknown })._writev === 'function';
  /** The write whose completion the reader waits for (writes complete in order). */
  let awaited: object | undefined;
  /** Writes `parts`; true when the destination keeps none of them (all handed to the OS). */
  const put = (parts: Buffer[], resume: () => void): boolean => {
    if (parts.length === 0) return true;
    const token = {};
    const written = (): void => {
      if (awaited !== token) return;
      awaited = undefined;
      resume();
    };
    if (parts.length === 1 || !gathers) dest.write(joined(parts), written);
    else {
      dest.cork();
      const last = parts.length - 1;
      for (let i = 0; i < last; i++) dest.write(parts[i]!);
      dest.write(parts[last]!, written);
      dest.uncork();
    }
    if (dest.writableLength === 0) return true;
    awaited = token;
    return false;
  };
  return {
    write: (chunk, resume) => put(masker.push(chunk), resume),
    end(done): void {
      if (put(masker.end(), done)) done();
    },
  };
}

function writerOf(masker: PartsMasker, dest: NodeJS.WritableStream): Writable {
  const gathers = typeof (dest as { _writev?: unknown })._writev === 'function';
  const forward = (callback: (err?: Error | null) => void, step: () => Buffer[]): void => {
    let parts: Buffer[];
    try {
      parts = step();
    } catch (err) {
      callback(err as Error);
      return;
    }
    if (parts.length === 0) {
      callback();
      return;
    }
    let ok: boolean;
    if (parts.length === 1 || !gathers) ok = dest.write(joined(parts));
    else {
      (dest as Writable).cork();
      ok = true;
      for (const part of parts) ok = dest.write(part) && ok;
      (dest as Writable).uncork();
    }
    if (ok) callback();
    else dest.once('drain', () => callback());
  };
  return new Writable({
    write(chunk: Buffer, _encoding: BufferEncoding, callback): void {
      forward(callback, () => masker.push(chunk));
    },
    final(callback): void {
      forward(callback, () => masker.end());
    },
  });
}

function transformOf(masker: StreamMasker): Transform {
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
