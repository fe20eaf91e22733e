/**
 * The search shared by string redaction and the stream masker: one Aho-Corasick automaton
 * over all secret values and their encoded forms, fed each symbol of the text once.
 *
 * Semantics (identical for UTF-16 code units and for UTF-8 bytes, so a well-formed string and
 * its UTF-8 bytes are masked alike):
 * - the covered text is the union of all occurrences of all values: a value nested in a longer
 *   one never splits it;
 * - overlapping occurrences form one covered span, so when `abcd` and `cdef` overlap in
 *   `abcdef` no fragment of either is left; spans that only touch stay separate;
 * - each covered span is replaced by one marker.
 *
 * Each value is also searched for in the forms it takes when a program prints it encoded
 * (see `valueForms`): JSON-escaped (`"`, `\` and control characters), percent-encoded
 * (`encodeURIComponent`; also with lowercase hex, with `/` kept, and form-encoded with `+` for
 * a space), base64 and base64url (at each of the three byte alignments, so the
 * value is found inside a longer encoded blob too) and hex (lower and upper case).
 *
 * Cost: O(n) in the text whatever the text and the values. The automaton keeps, for each
 * state, the length of the longest value that is a suffix of what the state has read, so the
 * occurrences ending at each position come out in one step; a transition follows failure
 * links, at most as many as the symbols read before (amortised O(1) per symbol). Building it
 * is O(total length of all forms).
 *
 * Streams: after position p in state s, no later occurrence can start before p - depth(s)
 * (whatever a later match starts with is a prefix of a value, so it is on the current state's
 * path), which is what lets the stream masker emit everything before that at once.
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
 * Encoded forms shorter than this are not searched for: the middle of a base64 encoding of a
 * four-character value shifted by one byte is two or three characters, which ordinary text
 * holds everywhere.
 */
const MIN_FORM_LENGTH = 6;

/**
 * The characters of the base64 encoding of `bytes` placed after `shift` (0, 1 or 2) other
 * bytes that depend on `bytes` only: the encoding of the value wherever it sits in a longer
 * blob. No padding (a value at the end of a blob may be padded or not).
 */
function base64Core(bytes: Uint8Array, shift: 0 | 1 | 2): string {
  const full = Buffer.concat([Buffer.alloc(shift), bytes])
    .toString('base64')
    .replace(/=+$/, '');
  // The first `shift` bytes' sextets and the one mixing them with the value's first byte.
  const skip = shift === 0 ? 0 : shift === 1 ? 2 : 3;
  // The last sextet mixes the value's last bits with what follows unless the total ends a group.
  const total = shift + bytes.length;
  const drop = total % 3 === 0 ? 0 : 1;
  return full.slice(skip, full.length - drop);
}

/**
 * The forms of `value` searched for besides the value itself: JSON-escaped, percent-encoded
 * (as encodeURIComponent, with lowercase hex, with `/` kept, form-encoded, and RFC 3986
 * strict as Python's quote, curl and Go write it), base64 and base64url at each alignment,
 * hex lower and upper case. Forms equal to the value
 * are left out, and so are base64 and hex forms shorter than `MIN_FORM_LENGTH`. The escaped
 * forms are always kept: they are at least as long as the value, and a value with a quote in
 * it is in a JSON log line only in its escaped form (the value alone would match from the
 * quote on and leave the backslash before the marker, which breaks the line's JSON).
 */
export function valueForms(value: string): string[] {
  const escaped = new Set<string>([JSON.stringify(value).slice(1, -1)]);
  try {
    const uri = encodeURIComponent(value);
    escaped.add(uri);
    // The same with lowercase hex digits (%2f), with `/` left alone, and as a form field
    // (URLSearchParams, application/x-www-form-urlencoded: space as `+`).
    escaped.add(uri.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()));
    escaped.add(uri.replace(/%2F/g, '/'));
    escaped.add(new URLSearchParams([['', value]]).toString().slice(1));
    // RFC 3986 strict, as Python's quote (with and without `/` kept), curl --data-urlencode
    // and Go's QueryEscape write it: `! ' ( ) *` encoded too (Go and Python's quote_plus
    // also write a space as `+`).
    const strict = uri.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    escaped.add(strict);
    escaped.add(strict.replace(/%2F/g, '/'));
    escaped.add(strict.replace(/%20/g, '+'));
  } catch {
    // A lone surrogate has no percent-encoding; the value itself is still searched for.
  }
  const encoded = new Set<string>();
  const bytes = Buffer.from(value, 'utf8');
  const whole = bytes.toString('base64').replace(/=+$/, '');
  encoded.add(whole);
  encoded.add(whole.replace(/\+/g, '-').replace(/\//g, '_'));
  for (const shift of [0, 1, 2] as const) {
    const b64 = base64Core(bytes, shift);
    encoded.add(b64);
    encoded.add(b64.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  const hex = bytes.toString('hex');
  encoded.add(hex);
  encoded.add(hex.toUpperCase());
  const out = new Set<string>(escaped);
  for (const f of encoded) if (f.length >= MIN_FORM_LENGTH) out.add(f);
  out.delete(value);
  return [...out];
}

/**
 * The strings worth searching for: each value that is non-empty (an empty value matches
 * everywhere) and at least `minLength` code points long, plus its encoded forms, without
 * duplicates.
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
    if (kept.has(value)) continue;
    kept.add(value);
    for (const form of valueForms(value)) kept.add(form);
  }
  return [...kept];
}

/** The options string and stream redaction share. */
export interface MatcherOptions {
  /** Replacement text. Default `[REDACTED]`. Must not be empty. */
  marker?: string;
  /** Shortest value searched for, in code points. Default 4; empty values never are. */
  minLength?: number;
  /**
   * Streams: bytes read before the tables of the faster scan of ordinary text are built
   * (default 64 KiB), so a program that prints a few lines never pays for them. The output
   * is the same either way.
   */
  fastAfter?: number;
}

/**
 * The checked marker and the automaton of `values` (see `selectValues`), over UTF-16 code
 * units (string redaction) or UTF-8 bytes (streams).
 * @throws TypeError for a non-string marker or values; RangeError for an empty marker (masked
 *   text must show that something was hidden) or a bad `minLength`.
 */
export function buildMatcher(
  values: Iterable<string>,
  options: MatcherOptions,
  symbols: 'utf16' | 'utf8',
): { marker: string; automaton: Automaton } {
  const marker = options.marker ?? REDACTION_MARKER;
  if (typeof marker !== 'string') throw new TypeError('the marker must be a string');
  if (marker.length === 0) throw new RangeError('the marker must not be empty');
  const fastAfter = options.fastAfter ?? FAST_AFTER;
  if (!Number.isSafeInteger(fastAfter) || fastAfter < 0) {
    throw new RangeError('fastAfter must be a non-negative integer');
  }
  const kept = selectValues(values, options.minLength ?? MIN_REDACTION_LENGTH);
  const automaton =
    symbols === 'utf16'
      ? new Automaton(
          kept.map((v) => codeUnits(v)),
          0x10000,
        )
      : new Automaton(
          kept.map((v) => Buffer.from(v, 'utf8')),
          256,
          fastAfter,
        );
  return { marker, automaton };
}

/**
 * The Wu-Manber shift of every hashed 3-byte gram for windows of `window` bytes: how far the
 * window may move when it ends with that gram, so that no occurrence of a key starts in the
 * bytes passed over (a hash collision only makes a shift shorter).
 */
function skipTable(keys: readonly ArrayLike<number>[], window: number): Uint8Array {
  const shift = new Uint8Array(1 << 16).fill(window - 2);
  for (const key of keys) {
    for (let j = 2; j < window; j++) {
      const g = gramIndex(key[j - 2]!, key[j - 1]!, key[j]!);
      const sh = window - 1 - j;
      if (sh < shift[g]!) shift[g] = sh;
    }
  }
  return shift;
}

/** The UTF-16 code units of `s`. */
function codeUnits(s: string): Uint16Array {
  const units = new Uint16Array(s.length);
  for (let i = 0; i < s.length; i++) units[i] = s.charCodeAt(i);
  return units;
}

/**
 * Where a scan stands: the automaton's state, the absolute position of the next symbol, and
 * the covered spans found so far that the caller has not taken, as flat absolute
 * `[start, end, start, end, …]`, sorted, disjoint and with overlaps merged.
 */
export interface Cursor {
  state: number;
  pos: number;
  spans: number[];
}

/** A fresh cursor at position 0. */
export function newCursor(): Cursor {
  return { state: 0, pos: 0, spans: [] };
}

/**
 * How many transition-table entries the shallow states get (4 bytes each): the states nearest
 * the root, where ordinary text spends its time, take one table lookup per symbol; deeper
 * states, on the path of a single value, keep their few edges and failure link.
 */
const DENSE_BUDGET = 1 << 16;

/**
 * How many states get a byte-indexed row for `scanBytes` (256 entries of 4 bytes each, so
 * 1 MiB at most): the shallowest, where the automaton reads after the skip search stops.
 */
const QUIET_ROWS = 1024;

/** Bytes `scanBytes` reads with the plain automaton before it builds its own tables. */
const FAST_AFTER = 1 << 16;

/** Longest window the skip table looks at (its shifts must fit a byte). */
const MAX_WINDOW = 240;

/** Hash of the three bytes ending a window, into the 64 Ki entries of the skip table. */
const gramIndex = (a: number, b: number, c: number): number =>
  Math.imul((a << 16) | (b << 8) | c, 0x9e3779b1) >>> 16;

/**
 * An Aho-Corasick automaton over symbols (bytes, or UTF-16 code units). Symbols are first
 * mapped to classes (the symbols values use, plus class 0 for all others), so the rows of the
 * transition table stay short. The states nearest the root (breadth first, within
 * `DENSE_BUDGET`) have a full row; the others keep their children (a sibling list: most have
 * one) and a failure link. All of it lives in typed arrays, built in O(total length).
 */
export class Automaton {
  /** The longest value, in symbols; 0 when there are no values. */
  readonly maxLength: number;
  /** Distance of each state from the root: how much of the text it may still claim. */
  readonly depth: Int32Array;
  /** Length of the longest value that is a suffix of each state's string, 0 if none. */
  private readonly longest: Int32Array;
  private readonly fail: Int32Array;
  /** Class of each symbol; 0 for symbols no value holds. */
  private readonly classOf: Uint16Array | Int32Array;
  /** Offset of each state's row in `table`, or -1 for a state without one. */
  private readonly rowOf: Int32Array;
  private readonly table: Int32Array;
  /** Trie structure: first child, next sibling, and the class of the edge into each state. */
  private readonly firstChild: Int32Array;
  private readonly sibling: Int32Array;
  private readonly edgeClass: Int32Array;
  /**
   * Bytes only: the window (the shortest key, at most MAX_WINDOW bytes) and, per hashed
   * 3-byte gram, how far a window ending with it may move without passing the start of an
   * occurrence (Wu-Manber); null when a key is shorter than 4 bytes.
   */
  private readonly window: number;
  private shift: Uint8Array | null = null;
  /**
   * `scanBytes` reads its first `fastAfter` bytes with `scan` and only then builds the skip
   * table and the quiet rows (about half the cost of building the automaton), so that a
   * program printing a few lines never pays for them. The keys are kept until then.
   */
  private readonly fastAfter: number;
  private slowBytes = 0;
  private keys: readonly ArrayLike<number>[] | undefined;
  /**
   * The transitions of `scanBytes`, indexed by byte (no class lookup) for the first
   * `QUIET_ROWS` states with a row, 256 entries each: the next state's quiet row when that
   * state has one, no occurrence ends there and it is at least 3 deep (so nothing is to be
   * done but go on), else the complement of its number. `quietRowOf` is each state's quiet
   * row offset (-1 for none) and `stateAtRow` maps a row back to its state.
   */
  private quiet = new Int32Array(0);
  private quietRowOf = new Int32Array(0);
  private stateAtRow = new Int32Array(0);
  /**
   * For `scanBytes`, per state: the byte of its only edge when it has exactly one (most deep
   * states, on the path of a single key), else -1; that edge leads to `firstChild`. The
   * automaton follows such a path with one comparison per byte instead of `next`.
   */
  private onlyByte = new Int16Array(0);
  private readonly classes: number;
  private readonly filled: number;

  /**
   * @param alphabet number of distinct symbols: 256 for bytes, 65536 for code units.
   * @param fastAfter bytes `scanBytes` reads before building its tables (FAST_AFTER).
   */
  constructor(
    keys: readonly ArrayLike<number>[],
    alphabet: number,
    fastAfter: number = FAST_AFTER,
  ) {
    let total = 1;
    let wide = false;
    for (const key of keys) total += key.length;
    const classOf = new Uint16Array(alphabet);
    let classes = 1;
    for (const key of keys) {
      for (let j = 0; j < key.length && !wide; j++) {
        if (classOf[key[j]!] === 0) {
          if (classes === 0xffff) wide = true;
          else classOf[key[j]!] = classes++;
        }
      }
    }
    // More distinct symbols than a Uint16Array can number: recount in 32 bits.
    const cls: Uint16Array | Int32Array = wide ? new Int32Array(alphabet) : classOf;
    if (wide) {
      classes = 1;
      for (const key of keys)
        for (let j = 0; j < key.length; j++) if (cls[key[j]!] === 0) cls[key[j]!] = classes++;
    }
    this.classOf = cls;
    const firstChild = new Int32Array(total);
    const sibling = new Int32Array(total);
    const edgeClass = new Int32Array(total);
    const depth = new Int32Array(total);
    const terminal = new Int32Array(total);
    const rootChild = new Int32Array(classes);
    let count = 1;
    let maxLength = 0;
    for (const key of keys) {
      if (key.length === 0) continue;
      maxLength = Math.max(maxLength, key.length);
      let node = 0;
      for (let j = 0; j < key.length; j++) {
        const c = cls[key[j]!]!;
        let next = 0;
        if (node === 0) next = rootChild[c]!;
        else
          for (let v = firstChild[node]!; v !== 0 && next === 0; v = sibling[v]!)
            if (edgeClass[v] === c) next = v;
        if (next === 0) {
          next = count++;
          edgeClass[next] = c;
          depth[next] = j + 1;
          if (node === 0) rootChild[c] = next;
          sibling[next] = firstChild[node]!;
          firstChild[node] = next;
        }
        node = next;
      }
      terminal[node] = key.length;
    }
    this.maxLength = maxLength;
    this.firstChild = firstChild;
    this.sibling = sibling;
    this.edgeClass = edgeClass;
    this.depth = depth.subarray(0, count);
    this.longest = new Int32Array(count);
    this.fail = new Int32Array(count);
    // Breadth first: a state's failure target is shallower, so it is done before the state,
    // and the states that get a row are the shallowest.
    const rows = Math.max(1, Math.min(count, Math.floor(DENSE_BUDGET / classes)));
    this.table = new Int32Array(rows * classes);
    this.table.set(rootChild);
    this.rowOf = new Int32Array(count).fill(-1);
    this.rowOf[0] = 0;
    let filled = 1;
    const queue = new Int32Array(count);
    let tail = 1;
    for (let head = 0; head < tail; head++) {
      const s = queue[head]!;
      if (s !== 0 && filled < rows) {
        const row = filled++ * classes;
        this.rowOf[s] = row;
        // The failure target's row (it has one: it is shallower), then this state's edges.
        const inherited = this.rowOf[this.fail[s]!]!;
        this.table.copyWithin(row, inherited, inherited + classes);
        for (let v = firstChild[s]!; v !== 0; v = sibling[v]!) this.table[row + edgeClass[v]!] = v;
      }
      for (let v = firstChild[s]!; v !== 0; v = sibling[v]!) {
        const f = s === 0 ? 0 : this.next(this.fail[s]!, edgeClass[v]!);
        this.fail[v] = f;
        this.longest[v] = terminal[v]! > 0 ? terminal[v]! : this.longest[f]!;
        queue[tail++] = v;
      }
    }
    this.classes = classes;
    this.filled = filled;
    let window = MAX_WINDOW;
    for (const key of keys) if (key.length > 0) window = Math.min(window, key.length);
    this.window = window;
    this.fastAfter = fastAfter;
    if (alphabet === 256 && window >= 4 && maxLength > 0) this.keys = keys;
  }

  /** The skip table and the quiet rows of `scanBytes` (see the fields). */
  private buildFast(): void {
    const { classes, filled, firstChild, sibling, edgeClass, window } = this;
    const keys = this.keys!;
    this.keys = undefined;
    const cls = this.classOf;
    const count = this.depth.length;
    this.stateAtRow = new Int32Array(filled);
    for (let t = 0; t < count; t++)
      if (this.rowOf[t]! >= 0) this.stateAtRow[this.rowOf[t]! / classes] = t;
    const quietRows = Math.min(filled, QUIET_ROWS);
    this.quietRowOf = new Int32Array(count).fill(-1);
    for (let q = 0; q < quietRows; q++) this.quietRowOf[this.stateAtRow[q]!] = q << 8;
    this.quiet = new Int32Array(quietRows << 8);
    /** The entry for the transition to `t`. */
    const quietTo = (t: number): number => {
      const to = this.quietRowOf[t]!;
      return to >= 0 && this.longest[t] === 0 && this.depth[t]! >= 3 ? to : ~t;
    };
    // Breadth first, as the table: a state's row is its failure target's (which has one, being
    // shallower) but for its own edges. Each byte a value holds is its own class.
    const byteOf = new Int32Array(classes);
    for (let b = 0; b < 256; b++) byteOf[cls[b]!] = b;
    for (let q = 0; q < quietRows; q++) {
      const st = this.stateAtRow[q]!;
      const at = q << 8;
      if (q === 0) this.quiet.fill(quietTo(0), 0, 256);
      else {
        const from = this.quietRowOf[this.fail[st]!]!;
        this.quiet.copyWithin(at, from, from + 256);
      }
      for (let v = firstChild[st]!; v !== 0; v = sibling[v]!)
        this.quiet[at + byteOf[edgeClass[v]!]!] = quietTo(v);
    }
    this.onlyByte = new Int16Array(count).fill(-1);
    for (let t = 0; t < count; t++) {
      const v = firstChild[t]!;
      if (v !== 0 && sibling[v] === 0) this.onlyByte[t] = byteOf[edgeClass[v]!]!;
    }
    this.shift = skipTable(keys, window);
  }

  /** The state after reading a symbol of class `c` in state `s`. */
  private next(s: number, c: number): number {
    const { firstChild, sibling, edgeClass, fail, rowOf } = this;
    let row = rowOf[s]!;
    while (row < 0) {
      for (let v = firstChild[s]!; v !== 0; v = sibling[v]!) if (edgeClass[v] === c) return v;
      s = fail[s]!;
      row = rowOf[s]!;
    }
    return this.table[row + c]!;
  }

  /**
   * Reads the first `n` symbols of `data` from `cursor` on, adding the covered spans to
   * `cursor.spans` (merged with those already there) and moving its state and position.
   */
  scan(data: Uint8Array | Uint16Array, n: number, cursor: Cursor): void {
    const { longest, classOf, rowOf, table } = this;
    const spans = cursor.spans;
    let s = cursor.state;
    const base = cursor.pos + 1;
    for (let i = 0; i < n; i++) {
      const c = classOf[data[i]!]!;
      const row = rowOf[s]!;
      s = row >= 0 ? table[row + c]! : this.next(s, c);
      const len = longest[s]!;
      if (len === 0) continue;
      let start = base + i - len;
      // Occurrences end in order, so only the last spans can overlap this one.
      while (spans.length > 0 && spans[spans.length - 1]! > start) {
        spans.pop();
        start = Math.min(start, spans.pop()!);
      }
      spans.push(start, base + i);
    }
    cursor.state = s;
    cursor.pos += n;
  }

  /**
   * `scan` for bytes, faster on ordinary text: the same spans, cursor and linear bound.
   * While no occurrence is in progress (the root state) it looks only at the last three
   * bytes of each window of `window` bytes and moves the window by their shift, usually
   * most of its length; when an occurrence may start in the window, the automaton reads on
   * from the window's start until it is back near the root (depth under 3, at least one
   * byte further than it began: each byte is read at most three times). The bytes after the
   * last whole window are read by the automaton, so the state after the chunk is exactly
   * `scan`'s and nothing is held back that `scan` would not hold.
   */
  scanBytes(data: Uint8Array, n: number, cursor: Cursor): void {
    if (this.shift === null) {
      if (this.keys === undefined || this.slowBytes < this.fastAfter) {
        this.slowBytes += n;
        this.scan(data, n, cursor);
        return;
      }
      this.buildFast();
    }
    const shift = this.shift!;
    const window = this.window;
    const { longest, classOf, depth, quiet, quietRowOf, stateAtRow, onlyByte, firstChild } = this;
    const spans = cursor.spans;
    const base = cursor.pos + 1;
    let s = cursor.state;
    let i = 0;
    const last = n - window;
    const slow = Math.max(1, window >> 3);
    while (i < n) {
      let entry = i;
      if (s === 0) {
        // Skipping: a window [i, i + window) whose last gram cannot end any key's first
        // `window` bytes at the place it holds moves on by that gram's shift.
        let found = false;
        while (i <= last) {
          const e = i + window - 1;
          const sh = shift[gramIndex(data[e - 2]!, data[e - 1]!, data[e]!)]!;
          // A short shift (text that repeats part of a key) is read faster by the automaton.
          if (sh < slow) {
            found = true;
            break;
          }
          i += sh;
        }
        entry = found ? i : n; // past the last window: read to the end, never leave
      }
      // `r`: the quiet row of the current state when it has one (`s` is then only
      // refreshed where it is needed), -1 otherwise.
      let r = quietRowOf[s]!;
      for (; i < n; i++) {
        const b = data[i]!;
        if (r >= 0) {
          const t = quiet[r + b]!;
          if (t >= 0) {
            r = t; // a state with a row, no occurrence ending and deep: nothing to do
            continue;
          }
          s = ~t;
        } else s = onlyByte[s] === b ? firstChild[s]! : this.next(s, classOf[b]!);
        r = quietRowOf[s]!;
        const len = longest[s]!;
        if (len !== 0) {
          let start = base + i - len;
          while (spans.length > 0 && spans[spans.length - 1]! > start) {
            spans.pop();
            start = Math.min(start, spans.pop()!);
          }
          spans.push(start, base + i);
        }
        const d = depth[s]!;
        if (d < 3 && i + 1 - d > entry && i <= last) {
          // Back near the root: skip again from where what is in progress starts.
          i = i + 1 - d;
          r = 0;
          break;
        }
      }
      s = r >= 0 ? stateAtRow[r >> 8]! : s;
      if (i >= n) break;
    }
    cursor.state = s;
    cursor.pos += n;
  }

  /** The covered spans of a whole string, as flat `[start, end, …]` in code units. */
  spansOf(s: string): number[] {
    if (this.maxLength === 0 || s.length === 0) return [];
    const cursor = newCursor();
    // In slices, so a long text is never copied whole into a second buffer.
    const buf = new Uint16Array(Math.min(s.length, 4096));
    for (let from = 0; from < s.length; from += buf.length) {
      const n = Math.min(buf.length, s.length - from);
      for (let i = 0; i < n; i++) buf[i] = s.charCodeAt(from + i);
      this.scan(buf, n, cursor);
    }
    buf.fill(0); // the text may hold a secret: keep no copy of it
    return cursor.spans;
  }
}
