/**
 * The search shared by string redaction and the stream masker: a trie of all secret values,
 * walked once from each position of the text, so every value is looked for in one pass.
 *
 * Semantics (identical for UTF-16 code units and for UTF-8 bytes, so a string and its bytes
 * are masked alike):
 * - at each position the longest value that starts there is taken (a value nested in a longer
 *   one never splits it);
 * - the union of overlapping occurrences becomes one covered span, so when `abcd` and `cdef`
 *   overlap in `abcdef` no fragment of either is left; spans that only touch stay separate;
 * - each covered span is replaced by one marker.
 *
 * Cost: O(n * d), d being how deep the walk from a position gets before it fails; for ordinary
 * text d is one or two symbols. A text that repeats a long prefix of a value (a run of `a`
 * against a value `aaaa…`) degrades towards O(n * maxLength); Aho-Corasick would avoid that,
 * but leftmost-longest matching with it is much more involved, and such values are rare.
 *
 * Not done here: choosing the values (see `selectValues`), building the output, patterns.
 */

/** Replacement text used when no marker is given; it says nothing about the value's length. */
export const DEFAULT_MARKER = '[REDACTED]';

/**
 * Values shorter than this many characters (code points) are not masked unless the caller
 * asks: masking `a` or `on` would destroy every line of output while protecting nothing.
 */
export const DEFAULT_MIN_LENGTH = 4;

/**
 * The values worth searching for: non-empty (an empty value matches everywhere), at least
 * `minLength` code points long, without duplicates.
 * @throws TypeError if a value is not a string; RangeError if `minLength` is not a
 *   non-negative integer.
 */
export function selectValues(values: Iterable<string>, minLength: number): string[] {
  if (!Number.isSafeInteger(minLength) || minLength < 0) {
    throw new RangeError('minLength must be a non-negative integer');
  }
  const kept = new Set<string>();
  for (const value of values) {
    if (typeof value !== 'string') throw new TypeError('secret values must be strings');
    if (value.length === 0 || value.length < minLength) continue;
    // value.length counts UTF-16 units, an upper bound on code points: count only if needed.
    if (value.length >= 2 * minLength || [...value].length >= minLength) kept.add(value);
  }
  return [...kept];
}

/** @throws RangeError for an empty marker (masked text must show that something was hidden). */
export function checkMarker(marker: string): string {
  if (typeof marker !== 'string') throw new TypeError('the marker must be a string');
  if (marker.length === 0) throw new RangeError('the marker must not be empty');
  return marker;
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
   * Length of the longest value starting at `i`, 0 if none. Returns -1 when the data ends
   * while a longer value could still match and `final` is false: the caller must wait.
   */
  longestAt(data: ArrayLike<number>, i: number, final: boolean): number {
    let node = this.first[data[i]!]!;
    if (node === 0) return 0;
    const n = data.length;
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
   * The covered spans of `data`. `covered` > 0 says that `data[0, covered)` continues a span
   * whose marker was already written; that span is returned first, from 0, so the caller can
   * recognise it. Positions from `stop` on are undecided (only when `final` is false).
   */
  findSpans(data: ArrayLike<number>, covered: number, final: boolean): Spans {
    const spans: number[] = covered > 0 ? [0, covered] : [];
    let end = covered;
    const n = data.length;
    for (let i = 0; i < n; i++) {
      const len = this.longestAt(data, i, final);
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
