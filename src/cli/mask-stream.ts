/**
 * Masks secret values in a byte stream (`coffer run --mask`): every occurrence of a value is
 * replaced by a fixed marker that does not reveal its length, also when the value is split
 * across chunks. Only the bytes that could be the start of a value are held back, and only
 * until the next chunk shows whether they are; the rest is passed on at once.
 *
 * Values are compared as UTF-8 bytes, longest first. Values shorter than 4 bytes are not
 * masked: masking "a" would destroy all output without protecting anything.
 */
import { Transform, type TransformCallback } from 'node:stream';

export const MASK_MARKER = '[REDACTED]';
export const MIN_MASK_BYTES = 4;

export interface StreamMasker {
  push(chunk: Buffer): Buffer;
  end(): Buffer;
}

export function createStreamMasker(
  values: readonly string[],
  marker: string = MASK_MARKER,
): StreamMasker {
  const needles = [...new Set(values)]
    .map((v) => Buffer.from(v, 'utf8'))
    .filter((b) => b.length >= MIN_MASK_BYTES)
    .sort((a, b) => b.length - a.length);
  const firstBytes = new Set(needles.map((n) => n[0]!));
  const mark = Buffer.from(marker, 'utf8');
  let pending = Buffer.alloc(0);

  const scan = (data: Buffer, final: boolean): Buffer => {
    const out: Buffer[] = [];
    let emitFrom = 0;
    let i = 0;
    while (i < data.length) {
      if (!firstBytes.has(data[i]!)) {
        i++;
        continue;
      }
      let matched: Buffer | undefined;
      let partial = false;
      for (const n of needles) {
        const avail = data.length - i;
        if (avail >= n.length) {
          if (data.compare(n, 0, n.length, i, i + n.length) === 0) {
            matched = n;
            break;
          }
        } else if (!final && data.compare(n, 0, avail, i, data.length) === 0) {
          partial = true;
        }
      }
      if (matched) {
        out.push(data.subarray(emitFrom, i), mark);
        i += matched.length;
        emitFrom = i;
      } else if (partial) {
        out.push(data.subarray(emitFrom, i));
        pending = Buffer.from(data.subarray(i));
        return Buffer.concat(out);
      } else {
        i++;
      }
    }
    out.push(data.subarray(emitFrom));
    pending = Buffer.alloc(0);
    return Buffer.concat(out);
  };

  return {
    push: (chunk) => scan(pending.length ? Buffer.concat([pending, chunk]) : chunk, false),
    end: () => scan(pending, true),
  };
}

/** A Transform stream around `createStreamMasker`. */
export function createMaskingTransform(values: readonly string[], marker?: string): Transform {
  const masker = createStreamMasker(values, marker);
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      const out = masker.push(chunk);
      cb(null, out.length ? out : undefined);
    },
    flush(cb: TransformCallback) {
      const out = masker.end();
      cb(null, out.length ? out : undefined);
    },
  });
}
