/**
 * Exact stored values: finds the values a vault holds in scanned text, raw or encoded
 * (base64 and base64url at any alignment inside a longer base64 text, URL-encoded,
 * JSON-escaped, hex in either case), and names the key path, never the value.
 *
 * No plaintext is kept once the matcher is built: each encoded form is reduced to a 32-bit
 * rolling hash of its first 8 characters (a filter that says where to look) and an
 * HMAC-SHA256 of the whole form under a random key made for this matcher (which confirms a
 * match). The byte buffers used to build the encodings are zeroed, and `wipe()` zeroes the
 * HMAC key when the scan is done. JavaScript strings cannot be zeroed: the values the caller
 * passes in stay in the heap until collected, so the caller should drop them at once.
 *
 * Values shorter than 8 characters are ignored: they would match ordinary text.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A value to look for, with the key path and environment it is stored under. */
export interface StoredValue {
  readonly path: string;
  readonly env: string;
  readonly value: string;
}

/** Where a stored value was found in a line (0-based, end exclusive). */
export interface StoredValueMatch {
  readonly start: number;
  readonly end: number;
  readonly path: string;
  readonly env: string;
  readonly encoding: string;
}

/** Something that finds stored values in lines: the scanner's view of a matcher. */
export interface StoredValueFinder {
  find(line: string): StoredValueMatch[];
}

/** Shortest value looked for. */
export const MIN_STORED_VALUE_LENGTH = 8;

const WINDOW = 8;
const BASE = 0x01000193;
/** BASE^(WINDOW-1) mod 2^32: the weight of the character leaving the window. */
const OUT_WEIGHT = (() => {
  let w = 1;
  for (let i = 0; i < WINDOW - 1; i++) w = Math.imul(w, BASE);
  return w;
})();
const FILTER_BITS = 1 << 20;

interface Entry {
  readonly length: number;
  readonly mac: Buffer;
  readonly path: string;
  readonly env: string;
  readonly encoding: string;
}

function windowHash(s: string, from: number): number {
  let h = 0;
  for (let i = from; i < from + WINDOW; i++) h = (Math.imul(h, BASE) + s.charCodeAt(i)) | 0;
  return h;
}

/** The encoded forms of `bytes` (the UTF-8 of a value), each named. */
function encodings(value: string, bytes: Buffer): [string, string][] {
  const out: [string, string][] = [['raw', value]];
  // Base64 of the value at each alignment inside a longer base64 text (`user:pass` in a
  // Basic header, a value with a trailing newline): only whole 3-byte groups are stable.
  for (let skip = 0; skip < 3; skip++) {
    const n = bytes.length - skip;
    const whole = n - (n % 3);
    if (whole < 6) continue;
    const part = bytes.subarray(skip, skip + whole);
    out.push(['base64', part.toString('base64')]);
    out.push(['base64url', part.toString('base64url')]);
  }
  out.push(['url', encodeURIComponent(value)]);
  out.push(['json', JSON.stringify(value).slice(1, -1)]);
  const hex = bytes.toString('hex');
  out.push(['hex', hex], ['hex', hex.toUpperCase()]);
  return out;
}

/** Finds stored values, raw and encoded, by keyed hashes. */
export class StoredValueMatcher implements StoredValueFinder {
  readonly #key: Buffer = randomBytes(32);
  readonly #entries = new Map<number, Entry[]>();
  readonly #filter = new Uint32Array(FILTER_BITS / 32);
  #count = 0;

  /** Builds a matcher from `values`; values under 8 characters are skipped. */
  constructor(values: Iterable<StoredValue>) {
    for (const v of values) this.#add(v);
  }

  /** How many encoded forms are looked for. */
  get size(): number {
    return this.#count;
  }

  #mac(text: string): Buffer {
    return createHmac('sha256', this.#key).update(text, 'utf8').digest();
  }

  #add(v: StoredValue): void {
    if (v.value.length < MIN_STORED_VALUE_LENGTH) return;
    const bytes = Buffer.from(v.value, 'utf8');
    try {
      const seen = new Set<string>();
      for (const [encoding, text] of encodings(v.value, bytes)) {
        if (text.length < WINDOW || seen.has(text)) continue;
        seen.add(text);
        const h = windowHash(text, 0);
        this.#filter[((h >>> 0) % FILTER_BITS) >>> 5]! |= 1 << (h & 31);
        const list = this.#entries.get(h) ?? [];
        list.push({
          length: text.length,
          mac: this.#mac(text),
          path: v.path,
          env: v.env,
          encoding,
        });
        this.#entries.set(h, list);
        this.#count++;
      }
    } finally {
      bytes.fill(0);
    }
  }

  find(line: string): StoredValueMatch[] {
    const out: StoredValueMatch[] = [];
    if (this.#count === 0 || line.length < WINDOW) return out;
    let h = windowHash(line, 0);
    let covered = 0;
    for (let i = 0; ; i++) {
      if (
        i >= covered &&
        (this.#filter[((h >>> 0) % FILTER_BITS) >>> 5]! & (1 << (h & 31))) !== 0
      ) {
        const list = this.#entries.get(h);
        if (list !== undefined) {
          let best: Entry | undefined;
          for (const e of list) {
            if (i + e.length > line.length || (best !== undefined && e.length <= best.length))
              continue;
            if (timingSafeEqual(this.#mac(line.slice(i, i + e.length)), e.mac)) best = e;
          }
          if (best !== undefined) {
            out.push({
              start: i,
              end: i + best.length,
              path: best.path,
              env: best.env,
              encoding: best.encoding,
            });
            covered = i + best.length;
          }
        }
      }
      if (i + WINDOW >= line.length) break;
      h =
        (Math.imul(h - Math.imul(line.charCodeAt(i), OUT_WEIGHT), BASE) +
          line.charCodeAt(i + WINDOW)) |
        0;
    }
    return out;
  }

  /** Zeroes the HMAC key: nothing can be matched or confirmed afterwards. */
  wipe(): void {
    this.#key.fill(0);
    this.#entries.clear();
    this.#filter.fill(0);
    this.#count = 0;
  }
}
