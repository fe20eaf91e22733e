/**
 * A keyword automaton: where any of a set of literals occurs in a text, and which groups the
 * literals found in a range belong to, in one pass over the characters with no allocation.
 *
 * It is the scanner's prefilter. Almost every line of a code base holds none of the rules'
 * literals (`ghp_`, `AKIA`, `secret`, `://`, …): such a line is only read past, and a line that
 * holds some runs the rules whose literals it holds, not the whole table. One regex of every
 * literal did the same job, but an alternation of fifty literals (half of them spelt
 * case-insensitively as classes) is tried alternative after alternative at each position; a
 * table indexed by the pair of characters at a position rejects almost every position with
 * one array read, and the few pairs that start a literal are confirmed by comparing the rest.
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

/** The index of the pair `a`, `b` (both below 256) in the table. */
const pairIndex = (a: number, b: number): number => (a << 8) | b;

export class KeywordSet {
  /** 1 where a pair of characters starts some literal (both characters below 256). */
  readonly #starts = new Uint8Array(65536);
  /** The literals each starting pair may begin, longest first (read on a pair's hit only). */
  readonly #entries = new Map<number, Entry[]>();
  /** One more than the highest group. */
  readonly groups: number;

  constructor(keywords: readonly Keyword[]) {
    const byText = new Map<string, Entry>();
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
      const cases = (c: string) =>
        k.caseInsensitive ? [...new Set([c.toLowerCase(), c.toUpperCase()])] : [c];
      for (const a of cases(text[0]!)) {
        for (const b of cases(text[1]!)) {
          const i = pairIndex(a.charCodeAt(0), b.charCodeAt(0));
          this.#starts[i] = 1;
          const list = this.#entries.get(i) ?? [];
          list.push(entry);
          list.sort((x, y) => y.text.length - x.text.length);
          this.#entries.set(i, list);
        }
      }
    }
    this.groups = groups;
  }

  /** The literal starting at `at` and ending by `to`, or undefined. */
  #entryAt(text: string, at: number, to: number): Entry | undefined {
    const a = text.charCodeAt(at);
    const b = text.charCodeAt(at + 1);
    if (a > 255 || b > 255) return undefined;
    const list = this.#entries.get(pairIndex(a, b));
    if (list === undefined) return undefined;
    for (const e of list) if (matchesAt(text, at, to, e)) return e;
    return undefined;
  }

  /** Where the first literal in `text` from `from` (and ending by `to`) starts, or -1. */
  indexIn(text: string, from = 0, to: number = text.length): number {
    const starts = this.#starts;
    const last = to - 1;
    if (from >= last) return -1;
    let prev = text.charCodeAt(from) & 255;
    for (let i = from + 1; i <= last; i++) {
      const c = text.charCodeAt(i);
      if (starts[(prev << 8) | (c & 255)] === 1 && this.#entryAt(text, i - 1, to) !== undefined) {
        return i - 1;
      }
      prev = c & 255;
    }
    return -1;
  }

  /**
   * `indexIn` for UTF-8 bytes (a literal's bytes are its ASCII characters; no byte of a
   * multi-byte character is ASCII), counting lines on the way: `lines[0]` gets the number of
   * `\n` bytes from `from` to the literal (or to `to` when there is none) and `lines[1]` where
   * the literal's line starts. `from` is the start of a line.
   */
  indexInBytes(bytes: Uint8Array, from: number, to: number, lines: Int32Array): number {
    const starts = this.#starts;
    let newlines = 0;
    let lineStart = from;
    let prev = 10;
    for (let i = from; i < to; i++) {
      const c = bytes[i]!;
      if (c === 10) {
        newlines++;
        lineStart = i + 1;
      } else if (starts[(prev << 8) | c] === 1 && this.#entryAtBytes(bytes, i - 1, to)) {
        lines[0] = newlines;
        lines[1] = lineStart;
        return i - 1;
      }
      prev = c;
    }
    lines[0] = newlines;
    lines[1] = lineStart;
    return -1;
  }

  #entryAtBytes(bytes: Uint8Array, at: number, to: number): boolean {
    for (const e of this.#entries.get((bytes[at]! << 8) | bytes[at + 1]!)!) {
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
    const starts = this.#starts;
    let any = false;
    for (let i = this.indexIn(text, from, to); i >= 0 && i < to - 1; i++) {
      const k = pairIndex(text.charCodeAt(i) & 255, text.charCodeAt(i + 1) & 255);
      if (starts[k] !== 1) continue;
      const a = text.charCodeAt(i);
      const b = text.charCodeAt(i + 1);
      if (a > 255 || b > 255) continue;
      // Every literal at this position, not only the longest: `sk-ant-` is also `sk-`.
      for (const e of this.#entries.get(k)!) {
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
