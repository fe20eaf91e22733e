/**
 * The search shared by string redaction and the stream masker: a trie of all secret values,
 * walked once from each position of the text, so every value is looked for in one pass.
 *
 * Semantics (identical for UTF-16 code units and for UTF-8 bytes, so a well-formed string and
 * its UTF-8 bytes are masked alike):
 * - the covered text is the union of all occurrences of all values: at each position the
 *   longest value that starts there is taken, so a value nested in a longer one never splits it;
 * - overlapping occurrences form one covered span, so when `abcd` and `cdef` overlap in
 *   `abcdef` no fragment of either is left; spans that only touch stay separate;
 * - each covered span is replaced by one marker.
 *
 * Each value is also searched for in the forms it takes inside JSON text (`JSON.stringify`
 * escaping of `"`, `\` and control characters) and URLs (`encodeURIComponent`), where it
 * differs: a password with a quote in it, printed in a JSON log line, is still found.
 *
 * Cost: O(n * d), d being how deep the walk from a position gets before it fails; for ordinary
 * text d is one or two symbols. A text that repeats a long prefix of a value (a run of `a`
 * against a value `aaaa…`) degrades towards O(n * maxLength), still linear in the text;
 * Aho-Corasick would avoid that, but leftmost-longest matching across stream chunks is much
 * more involved with it, and such values are rare.
 *
 * Not done here: building the output, patterns.
 */

/** Replacement text used when no marker is given; it says nothing about the value's length. */
export const REDACTION_MARKER = '[REDACTED]';

/**
 * Values shorter than this many characters (code points) are not masked unless the caller
 * asks: masking `a` or `on` would destroy every line of output while protecting nothing.
 */
export const MIN_REDACTION_LENGTH = 4;

/**
 * The strings worth searching for: each value that is non-empty (an empty value matches
 * everywhere) and at least `minLength` code points long, plus its JSON-escaped and
 * percent-encoded forms, without duplicates.
 * @throws TypeError if a value is not a string; RangeError if `minLength` is not a
 *   non-negative integer.
 */
function selectValues(values: Iterable<string>, minLength: number): string[] {
  if (!Number.isSafeInteger(minLength) || minLength < 0) {
    throw new RangeError('minLength must be a non-negative integer');
  }
  if (values === null || typeof values !== 'object' || !(Symbol.iterator in values)) {
    throw new TypeError('secret values must be an iterable of strings');
  }
  const kept = new Set<string>();
  for (const value of values) {
    if (typeof value !== 'string') throw new TypeError('secret values must be strings');
    if (value.length === 0 || value.length < minLength) continue;
    // value.length counts UTF-16 units, an upper bound on code points: count only if needed.
    if (value.length < 2 * minLength && [...value].length < minLength) continue;
    kept.add(value);
    kept.add(JSON.stringify(value).slice(1, -1));
    try {
      kept.add(encodeURIComponent(value));
    } catch {
      // A lone surrogate has no percent-encoding; the value itself is still searched for.
    }
  }
  return [...kept];
}

/** The options string and stream redaction share. */
export interface MatcherOptions {
  /** Replacement text. Default `[REDACTED]`. Must not be empty. */
  marker?: string;
  /** Shortest value searched for, in code points. Default 4; empty values never are. */
  minLength?: number;
}

/**
 * The checked marker and the trie of `values` (see `selectValues`), over UTF-16 code units
 * (string redaction) or UTF-8 bytes (streams).
 * @throws TypeError for a non-string marker or values; RangeError for an empty marker (masked
 *   text must show that something was hidden) or a bad `minLength`.
 */
export function buildMatcher(
  values: Iterable<string>,
  options: MatcherOptions,
  symbols: 'utf16' | 'utf8',
): { marker: string; trie: Trie } {
  const marker = options.marker ?? REDACTION_MARKER;
  if (typeof marker !== 'string') throw new TypeError('the marker must be a string');
  if (marker.length === 0) throw new RangeError('the marker must not be empty');
  const kept = selectValues(values, options.minLength ?? MIN_REDACTION_LENGTH);
  const trie =
    symbols === 'utf16'
      ? new Trie(
          kept.map((v) => codeUnits(v)),
          0x10000,
        )
      : new Trie(
          kept.map((v) => Buffer.from(v, 'utf8')),
          256,
        );
  return { marker, trie };
}

/**
 * The UTF-16 code units of `s`, the symbols string redaction matches on, written into
 * `into` when it is long enough (allocating a typed array costs more than matching a short
 * string); the result may be longer than `s`.
 */
export function codeUnits(s: string, into?: Uint16Array): Uint16Array {
  const units = into !== undefined && into.length >= s.length ? into : new Uint16Array(s.length);
  for (let i = 0; i < s.length; i++) units[i] = s.charCodeAt(i);
  return units;
}

/** Result of `findSpans`: covered spans as flat `[start, end, start, end, …]`, and `stop`. */
export interface Spans {
  spans: number[];
  /** First position whose match could not be decided without more input (`length` if none). */
  stop: number;
}

/** A trie over symbols (bytes, or UTF-16 code units) with a dense table for the first one. */
export class Trie {
  /** The longest value, in symbols; 0 when there are no values. */
  readonly maxLength: number;
  /** Node reached from the root by each first symbol; 0 means none (node 0 is the root). */
  private readonly first: Int32Array;
  private readonly children: (Map<number, number> | undefined)[] = [undefined];
  private readonly terminal: boolean[] = [false];

  /** @param alphabet number of distinct symbols: 256 for bytes, 65536 for code units. */
  constructor(keys: readonly ArrayLike<number>[], alphabet: number) {
    this.first = new Int32Array(alphabet);
    let maxLength = 0;
    for (const key of keys) {
      if (key.length === 0) continue;
      maxLength = Math.max(maxLength, key.length);
      let node = this.first[key[0]!]!;
      if (node === 0) {
        node = this.addNode();
        this.first[key[0]!] = node;
      }
      for (let j = 1; j < key.length; j++) {
        let kids = this.children[node];
        if (kids === undefined) {
          kids = new Map();
          this.children[node] = kids;
        }
        let next = kids.get(key[j]!);
        if (next === undefined) {
          next = this.addNode();
          kids.set(key[j]!, next);
        }
        node = next;
      }
      this.terminal[node] = true;
    }
    this.maxLength = maxLength;
  }

  private addNode(): number {
    this.children.push(undefined);
    this.terminal.push(false);
    return this.terminal.length - 1;
  }

  /**
   * Length of the longest value starting at `i`, 0 if none. Returns -1 when the data (its
   * first `n` symbols) ends while a longer value could still match and `final` is false: the
   * caller must wait.
   */
  longestAt(data: ArrayLike<number>, i: number, final: boolean, n: number): number {
    let node = this.first[data[i]!]!;
    if (node === 0) return 0;
    let best = this.terminal[node] ? 1 : 0;
    for (let j = i + 1; ; j++) {
      const kids = this.children[node];
      if (kids === undefined) return best;
      if (j >= n) return final ? best : -1;
      const next = kids.get(data[j]!);
      if (next === undefined) return best;
      node = next;
      if (this.terminal[node]) best = j + 1 - i;
    }
  }

  /**
   * The covered spans of the first `n` symbols of `data` (default: all). `covered` > 0 says
   * that `data[0, covered)` continues a span whose marker was already written; that span is
   * returned first, from 0, so the caller can recognise it. Positions from `stop` on are
   * undecided (only when `final` is false).
   */
  findSpans(
    data: ArrayLike<number>,
    covered: number,
    final: boolean,
    n: number = data.length,
  ): Spans {
    const spans: number[] = covered > 0 ? [0, covered] : [];
    let end = covered;
    for (let i = 0; i < n; i++) {
      const len = this.longestAt(data, i, final, n);
      if (len < 0) return { spans, stop: i };
      if (len === 0) continue;
      if (i >= end) {
        spans.push(i, i + len);
        end = i + len;
      } else if (i + len > end) {
        end = i + len;
        spans[spans.length - 1] = end;
      }
    }
    return { spans, stop: n };
  }
}
