/**
 * A keyword automaton: where any of a set of literals occurs in a text, and which groups the
 * literals found in a range belong to, in one pass over the characters with no allocation.
 *
 * It is the scanner's prefilter. Almost every line of a code base holds none of the rules'
 * literals (`ghp_`, `AKIA`, `secret`, `://`, …): such a line is only read past, and a line that
 * holds some runs the rules whose literals it holds, not the whole table. One regex of every
 * literal did the same job, but an alternation of fifty literals (half of them spelt
 * case-insensitively as classes) is tried alternative after alternative at each position.
 * Here a table indexed by the pair of characters at a position rejects almost every position
 * with one array read; a pair that starts some literal (`se`, `co`, `to` are common in any
 * text) is then checked against the set of third characters those literals have, and only
 * the few positions that pass both are compared with the literals.
 *
 * Literals are ASCII and at least two characters long; a case-insensitive one matches any
 * mix of cases of its letters.
 */

/** One literal and the group (a rule, say) it stands for. */
export interface Keyword {
  readonly text: string;
  readonly caseInsensitive: boolean;
  readonly group: number;
}

interface Entry {
  /** The literal as compared: lower case when case-insensitive. */
  readonly text: string;
  readonly caseInsensitive: boolean;
  readonly groups: number[];
}

const ASCII = /^[\x20-\x7e]{2,}$/;

/** The case variants of an ASCII character a literal may meet. */
const variants = (c: string, caseInsensitive: boolean): string[] =>
  caseInsensitive ? [...new Set([c.toLowerCase(), c.toUpperCase()])] : [c];

export class KeywordSet {
  /** Per pair of characters (both below 256): 0, or 1 + the index of its list. */
  readonly #pair = new Uint16Array(65536);
  /** The literals each starting pair may begin, longest first. */
  readonly #lists: Entry[][] = [];
  /** Per list, 256 bits: the third characters its literals allow. */
  #thirds = new Uint32Array(0);
  /** Per list, 1 when it holds a two-character literal (any third character goes). */
  #short = new Uint8Array(0);
  /** One more than the highest group. */
  readonly groups: number;

  constructor(keywords: readonly Keyword[]) {
    const byText = new Map<string, Entry>();
    const lists = this.#lists;
    const thirds: number[] = [];
    const short: number[] = [];
    let groups = 0;
    for (const k of keywords) {
      if (!ASCII.test(k.text)) {
        throw new Error(`a keyword must be printable ASCII of 2 or more characters: ${k.text}`);
      }
      if (!Number.isInteger(k.group) || k.group < 0) throw new Error(`bad group ${k.group}`);
      groups = Math.max(groups, k.group + 1);
      const text = k.caseInsensitive ? k.text.toLowerCase() : k.text;
      const id = `${k.caseInsensitive ? 'i' : 's'}${text}`;
      const e = byText.get(id);
      if (e !== undefined) {
        if (!e.groups.includes(k.group)) e.groups.push(k.group);
        continue;
      }
      const entry: Entry = { text, caseInsensitive: k.caseInsensitive, groups: [k.group] };
      byText.set(id, entry);
      for (const a of variants(text[0]!, k.caseInsensitive)) {
        for (const b of variants(text[1]!, k.caseInsensitive)) {
          const p = (a.charCodeAt(0) << 8) | b.charCodeAt(0);
          if (this.#pair[p] === 0) {
            lists.push([]);
            thirds.push(0, 0, 0, 0, 0, 0, 0, 0);
            short.push(0);
            this.#pair[p] = lists.length;
          }
          const l = this.#pair[p]! - 1;
          lists[l]!.push(entry);
          lists[l]!.sort((x, y) => y.text.length - x.text.length);
          if (text.length === 2) short[l] = 1;
          else {
            for (const c of variants(text[2]!, k.caseInsensitive)) {
              const t = c.charCodeAt(0);
              thirds[l * 8 + (t >> 5)]! |= 1 << (t & 31);
            }
          }
        }
      }
    }
    this.#thirds = Uint32Array.from(thirds);
    this.#short = Uint8Array.from(short);
    this.groups = groups;
  }

  /**
   * The list of literals that may start at `at`, whose first two characters are the pair `p`
   * (already known to start some) and whose third is `t` (-1 past the end, or above 255);
   * -1 when the third character rules them all out.
   */
  #list(p: number, t: number): number {
    const l = this.#pair[p]! - 1;
    if (this.#short[l] === 1) return l;
    if (t < 0 || t > 255) return -1;
    return (this.#thirds[l * 8 + (t >> 5)]! & (1 << (t & 31))) === 0 ? -1 : l;
  }

  /** Where the first literal in `text` from `from` (and ending by `to`) starts, or -1. */
  indexIn(text: string, from = 0, to: number = text.length): number {
    const pair = this.#pair;
    for (let i = from + 1; i < to; i++) {
      const a = text.charCodeAt(i - 1);
      const b = text.charCodeAt(i);
      if ((a | b) > 255) continue;
      const p = (a << 8) | b;
      if (pair[p] === 0) continue;
      const l = this.#list(p, i + 1 < to ? text.charCodeAt(i + 1) : -1);
      if (l >= 0 && this.#firstAt(text, i - 1, to, l) !== undefined) return i - 1;
    }
    return -1;
  }

  /** The longest literal of list `l` at `at` in `text`, ending by `to`. */
  #firstAt(text: string, at: number, to: number, l: number): Entry | undefined {
    for (const e of this.#lists[l]!) if (matchesAt(text, at, to, e)) return e;
    return undefined;
  }

  /**
   * `indexIn` for UTF-8 bytes (a literal's bytes are its ASCII characters; no byte of a
   * multi-byte character is ASCII), counting lines on the way: `lines[0]` gets the number of
   * `\n` bytes from `from` to the literal (or to `to` when there is none) and `lines[1]` where
   * the literal's line starts. `from` is the start of a line.
   */
  indexInBytes(bytes: Uint8Array, from: number, to: number, lines: Int32Array): number {
    const pair = this.#pair;
    let newlines = 0;
    let lineStart = from;
    let prev = 10;
    for (let i = from; i < to; i++) {
      const c = bytes[i]!;
      if (c === 10) {
        newlines++;
        lineStart = i + 1;
      } else if (pair[(prev << 8) | c] !== 0) {
        const l = this.#list((prev << 8) | c, i + 1 < to ? bytes[i + 1]! : -1);
        if (l >= 0 && this.#bytesAt(bytes, i - 1, to, l)) {
          lines[0] = newlines;
          lines[1] = lineStart;
          return i - 1;
        }
      }
      prev = c;
    }
    lines[0] = newlines;
    lines[1] = lineStart;
    return -1;
  }

  /** True when a literal of list `l` is at `at` in `bytes`, ending by `to`. */
  #bytesAt(bytes: Uint8Array, at: number, to: number, l: number): boolean {
    for (const e of this.#lists[l]!) {
      const w = e.text;
      if (at + w.length > to) continue;
      let j = 2;
      if (e.caseInsensitive) {
        for (; j < w.length; j++) {
          let c = bytes[at + j]!;
          if (c >= 65 && c <= 90) c |= 32;
          if (c !== w.charCodeAt(j)) break;
        }
      } else {
        while (j < w.length && bytes[at + j] === w.charCodeAt(j)) j++;
      }
      if (j === w.length) return true;
    }
    return false;
  }

  /**
   * Marks `hits[g] = 1` for the group of every literal in `text` from `from` to `to` (a line,
   * say); returns true when there was any. `hits` has at least `groups` entries and is
   * cleared by the caller.
   */
  collect(text: string, from: number, to: number, hits: Uint8Array): boolean {
    let any = false;
    for (let i = this.indexIn(text, from, to); i >= 0 && i < to - 1; i++) {
      const a = text.charCodeAt(i);
      const b = text.charCodeAt(i + 1);
      if ((a | b) > 255) continue;
      const p = (a << 8) | b;
      if (this.#pair[p] === 0) continue;
      const l = this.#list(p, i + 2 < to ? text.charCodeAt(i + 2) : -1);
      if (l < 0) continue;
      // Every literal at this position, not only the longest: `sk-ant-` is also `sk-`.
      for (const e of this.#lists[l]!) {
        if (!matchesAt(text, i, to, e)) continue;
        for (const g of e.groups) hits[g] = 1;
        any = true;
      }
    }
    return any;
  }
}

function matchesAt(text: string, at: number, to: number, e: Entry): boolean {
  const w = e.text;
  if (at + w.length > to) return false;
  if (e.caseInsensitive) {
    for (let j = 0; j < w.length; j++) {
      let c = text.charCodeAt(at + j);
      if (c >= 65 && c <= 90) c |= 32;
      if (c !== w.charCodeAt(j)) return false;
    }
  } else {
    for (let j = 0; j < w.length; j++)
      if (text.charCodeAt(at + j) !== w.charCodeAt(j)) return false;
  }
  return true;
}
