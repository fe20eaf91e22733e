/**
 * The scanner: reads text line by line and reports findings with file, line and column.
 *
 * For each line, in this order, each claiming its span so a later rule cannot report the
 * same characters again: exact stored values (stored-values.ts), the provider rules in table
 * order (rules.ts), then generic keyword assignments (generic.ts). A line holding
 * `coffer:allow` or detect-secrets' `pragma: allowlist secret` is skipped, and the line after
 * `pragma: allowlist nextline secret`.
 *
 * Sources feed lines with their own numbers (a diff's added lines are not consecutive), so
 * the scanner is a small state machine per file (`FileScanner`): the only state across lines
 * is a private-key header waiting for its body on the next line, and an allow comment for the
 * next line. `scanStream` reads a byte stream in chunks without holding the whole file.
 */
import * as crypto from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import {
  isMinifiedPath,
  isPlaceholderOrReference,
  isTestPath,
  maskInertSpans,
  pathFilter,
} from './filters.js';
import { type FileKind, fileKind, findGeneric, GENERIC_HINTS } from './generic.js';
import { KeywordSet } from './keywords.js';
import { HeldLine, MAX_LINE_LENGTH } from './line-splitter.js';
import { PROVIDER_RULES, type SecretRule, secretSpan } from './rules.js';
import { TakenSpans } from './spans.js';
import type { StoredValueFinder, StoredValueMatch } from './stored-values.js';
import type { Finding, LineOrigin } from './types.js';
import { scanWork } from './work.js';

/** What a scan looks for. */
export interface ScanOptions {
  /** Stored values to find (from the vault); none when absent. */
  readonly storedValues?: StoredValueFinder | undefined;
  /** Skip the generic keyword detector (provider rules and stored values only). */
  readonly noGeneric?: boolean | undefined;
  /** The baseline file in use, as files are shown (default `.secrets.baseline`): not scanned. */
  readonly baselineFile?: string | undefined;
  /**
   * The longest line read in chunks (a file past 8 MiB, a stream), in characters (default
   * MAX_LINE_LENGTH, 256 Mi): a longer one is refused with an error naming the file.
   */
  readonly maxLineLength?: number | undefined;
}

export const GENERIC_RULE_ID = 'generic-secret';
export const STORED_VALUE_RULE_ID = 'coffer-stored-value';
export const MASTER_KEY_RULE_ID = 'coffer-master-key';

/** A key file by its name (`master.key`, `coffer.key`): its first line is looked at whole. */
const KEY_FILE_NAME = /(?:^|[\\/])[^\\/]*\.key$/;
/** A coffer master key file's line: base64 of 32 bytes (what `coffer init` writes). */
const MASTER_KEY_LINE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=\r?$/;

const ALLOW = /coffer:allow|pragma: ?allowlist secret|pragma: ?whitelist secret/;
const ALLOW_NEXT = /pragma: ?allowlist nextline secret|coffer:allow-next-line/;
/** A line longer than this in a code file is minified: keyword matches are not tried. */
const MINIFIED_LINE = 1000;

/**
 * SHA-1 hex of a secret (detect-secrets' hashed_secret): `crypto.hash` (one call, no hash
 * object) where Node has it (20.12 and later), createHash before.
 */
const sha1: (s: string) => string =
  typeof crypto.hash === 'function'
    ? (s) => crypto.hash('sha1', s, 'hex')
    : (s) => crypto.createHash('sha1').update(s, 'utf8').digest('hex');

function mask(secret: string, publicPrefix: number): string {
  return `${secret.slice(0, Math.min(publicPrefix, secret.length))}****`;
}

const NO_MATCHES: readonly StoredValueMatch[] = [];

/** The scanner's rules, each with its own copy of the regex (lastIndex is per regex). */
const RULES: readonly SecretRule[] = PROVIDER_RULES.map((r) => ({
  ...r,
  regex: new RegExp(r.regex.source, r.regex.flags),
}));
/** Keyword groups past the rules' (a rule's group is its index in RULES). */
const GENERIC_GROUP = RULES.length;
const ALLOW_GROUP = RULES.length + 1;

/**
 * Every literal a finding needs, by the rule it is for: each provider rule's hints
 * (case-insensitive when its regex is), the generic detector's keywords, and the allow
 * comments, which must be read to be honoured. A line holding none is only read past.
 */
const KEYWORDS = new KeywordSet([
  ...RULES.flatMap((r, group) =>
    r.hints.map((text) => ({ text, caseInsensitive: r.regex.flags.includes('i'), group })),
  ),
  ...GENERIC_HINTS.map((text) => ({ text, caseInsensitive: true, group: GENERIC_GROUP })),
  ...['coffer:allow', 'pragma'].map((text) => ({
    text,
    caseInsensitive: false,
    group: ALLOW_GROUP,
  })),
]);

/** How many newlines `text` holds from `from` to `to`. */
function countLines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** The line count and line start `KeywordSet.indexInBytes` reports (one scan at a time). */
const LINE_STATE = new Int32Array(2);
/** The keyword groups of the line being read (cleared per line; lines are read one by one). */
const HITS = new Uint8Array(KEYWORDS.groups);

/** Scans the lines of one file (or of one file's diff) in order. */
export class FileScanner {
  readonly #origin: LineOrigin;
  readonly #options: ScanOptions;
  readonly #kind: FileKind;
  readonly #test: boolean;
  readonly #minified: boolean;
  /** The file is named like a key file: a master key on its first line is reported. */
  readonly #keyFile: boolean;
  /** A private-key header with no body on its line, waiting for the next line. */
  #pendingKey: { finding: Finding; line: number } | undefined;
  #allowNext = -1;
  /** The number of the next line `text` reads. */
  #next = 1;

  constructor(origin: LineOrigin, options: ScanOptions = {}) {
    this.#origin = origin;
    this.#options = options;
    this.#kind = fileKind(origin.file);
    this.#test = isTestPath(origin.file);
    this.#minified = isMinifiedPath(origin.file);
    this.#keyFile = KEY_FILE_NAME.test(origin.file);
  }

  /**
   * A master key file (`coffer init`'s `master.key`: one line of base64 of 32 bytes) read
   * from its first line: no keyword or entropy rule sees a bare key, and this one, committed,
   * opens the vault.
   */
  #masterKey(firstLine: string, out: Finding[]): void {
    if (!MASTER_KEY_LINE.test(firstLine)) return;
    const key = firstLine.slice(0, 44);
    out.push(
      this.#finding(
        {
          id: MASTER_KEY_RULE_ID,
          description: 'a coffer master key file (base64 of 32 bytes in a .key file)',
        },
        1,
        0,
        44,
        key,
        { masked: '****', validated: false },
      ),
    );
  }

  #finding(
    rule: {
      id: string;
      description: string;
      detectSecretsType?: string | undefined;
      baselineSecret?: ((secret: string) => string) | undefined;
    },
    line: number,
    start: number,
    end: number,
    secret: string,
    extra: Partial<Finding> & { masked: string; validated: boolean },
  ): Finding {
    return {
      ruleId: rule.id,
      description: rule.description,
      file: this.#origin.file,
      line,
      column: start + 1,
      endColumn: end + 1,
      ...(this.#origin.commit !== undefined ? { commit: this.#origin.commit } : {}),
      hashedSecret: sha1(rule.baselineSecret === undefined ? secret : rule.baselineSecret(secret)),
      ...(rule.baselineSecret !== undefined ? { wholeHashedSecret: sha1(secret) } : {}),
      ...(rule.detectSecretsType !== undefined
        ? { detectSecretsType: rule.detectSecretsType }
        : {}),
      ...extra,
    };
  }

  /** The findings of one line (1-based `n`), in column order. */
  line(raw: string, n: number): Finding[] {
    const stored = this.#options.storedValues;
    const out = this.#line(raw, n, stored === undefined ? NO_MATCHES : stored.find(raw), 0);
    if (this.#keyFile && n === 1) this.#masterKey(raw, out);
    return out;
  }

  /**
   * The findings of the lines of `text` (complete lines; a last one without a newline is
   * read as a line too), numbered on from the lines given before. One pass: the keyword
   * automaton finds the next line worth reading, and the lines between are only counted;
   * stored values are looked for in the whole text at once.
   */
  text(text: string): Finding[] {
    const out: Finding[] = [];
    if (this.#keyFile && this.#next === 1) {
      const nl = text.indexOf('\n');
      this.#masterKey(nl < 0 ? text : text.slice(0, nl), out);
    }
    const stored = this.#options.storedValues?.find(text) ?? NO_MATCHES;
    let k = 0;
    let pos = 0;
    let n = this.#next;
    while (pos < text.length) {
      let start = pos;
      if (this.#pendingKey === undefined && this.#allowNext !== n) {
        let at = KEYWORDS.indexIn(text, pos);
        if (at < 0) at = text.length;
        if (k < stored.length && stored[k]!.start < at) at = stored[k]!.start;
        if (at >= text.length) {
          n += countLines(text, pos, text.length);
          pos = text.length;
          break;
        }
        start = at === 0 ? 0 : text.lastIndexOf('\n', at - 1) + 1;
        if (start < pos) start = pos;
        n += countLines(text, pos, start);
      }
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const stop = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
      let from = k;
      while (k < stored.length && stored[k]!.start < end) k++;
      while (from < k && stored[from]!.end > stop) from++; // a match across lines: not reported
      const found = this.#line(
        text.slice(start, stop),
        n,
        from === k ? NO_MATCHES : stored.slice(from, k).filter((x) => x.end <= stop),
        start,
      );
      for (const f of found) out.push(f);
      pos = end + 1;
      n++;
    }
    // A text ending in a newline has no line after it; one that does not ends in a line.
    this.#next = text.length > 0 && text.charCodeAt(text.length - 1) !== 10 ? n + 1 : n;
    return out;
  }

  /**
   * The findings of a whole file given as UTF-8 bytes, the same as `text` on its decoded
   * text. Only the lines holding a keyword are decoded: most of a file is read past as bytes,
   * with no string made of it. Without stored values to look for only (they are searched in
   * decoded text); with them, the file is decoded and read by `text`.
   */
  bytes(bytes: Buffer): Finding[] {
    if (this.#options.storedValues !== undefined) return this.text(bytes.toString('utf8'));
    const out: Finding[] = [];
    if (this.#keyFile && this.#next === 1) {
      const nl = bytes.indexOf(10);
      const end = nl < 0 ? bytes.length : nl;
      if (end <= 46) this.#masterKey(bytes.toString('latin1', 0, end), out);
    }
    const len = bytes.length;
    const lines = LINE_STATE;
    let pos = 0;
    let n = this.#next;
    while (pos < len) {
      let start = pos;
      if (this.#pendingKey === undefined && this.#allowNext !== n) {
        const at = KEYWORDS.indexInBytes(bytes, pos, len, lines);
        n += lines[0]!;
        if (at < 0) break;
        start = lines[1]!;
      }
      let end = bytes.indexOf(10, start);
      if (end < 0) end = len;
      const stop = end > start && bytes[end - 1] === 13 ? end - 1 : end;
      const found = this.#line(bytes.toString('utf8', start, stop), n, NO_MATCHES, 0);
      for (const f of found) out.push(f);
      pos = end + 1;
      n++;
    }
    this.#next = n;
    return out;
  }

  #line(raw: string, n: number, stored: readonly StoredValueMatch[], offset: number): Finding[] {
    const out: Finding[] = [];
    const pending = this.#pendingKey;
    this.#pendingKey = undefined;
    if (pending !== undefined && pending.line + 1 === n && isKeyBodyLine(raw)) {
      out.push(pending.finding);
    }
    if (this.#allowNext === n) return out;
    const hits = HITS;
    hits.fill(0);
    KEYWORDS.collect(raw, 0, raw.length, hits);
    if (hits[ALLOW_GROUP] === 1) {
      // `coffer:allow-next-line` holds `coffer:allow`: the next line's comment is read first.
      if (ALLOW_NEXT.test(raw)) this.#allowNext = n + 1;
      else if (ALLOW.test(raw)) return out;
    }
    const text = maskInertSpans(raw);
    const taken = new TakenSpans();
    for (const x of stored) {
      const m = offset === 0 ? x : { ...x, start: x.start - offset, end: x.end - offset };
      taken.add(m);
      out.push(
        this.#finding(
          {
            id: STORED_VALUE_RULE_ID,
            description: `a value stored in the vault (${m.path}, ${m.env})`,
          },
          n,
          m.start,
          m.end,
          text.slice(m.start, m.end),
          { masked: '****', validated: true, keyPath: m.path, env: m.env, encoding: m.encoding },
        ),
      );
    }
    for (let i = 0; i < RULES.length; i++) {
      if (hits[i] === 1) this.#provider(RULES[i]!, text, n, taken, out);
    }
    const minifiedLine = this.#minified || (this.#kind === 'code' && text.length > MINIFIED_LINE);
    if (!this.#options.noGeneric && !this.#test && !minifiedLine && hits[GENERIC_GROUP] === 1) {
      for (const g of findGeneric(text, this.#kind)) {
        if (taken.overlaps(g.start, g.end)) continue;
        taken.add(g);
        const secret = text.slice(g.start, g.end);
        out.push(
          this.#finding(
            {
              id: GENERIC_RULE_ID,
              description: `a random-looking value assigned to ${g.name}`,
              detectSecretsType: 'Secret Keyword',
            },
            n,
            g.start,
            g.end,
            secret,
            { masked: '****', validated: false },
          ),
        );
      }
    }
    return out.length > 1 ? out.sort((a, b) => a.column - b.column) : out;
  }

  #provider(rule: SecretRule, text: string, n: number, taken: TakenSpans, out: Finding[]): void {
    const { regex } = rule;
    regex.lastIndex = 0;
    for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
      const [start, end] = secretSpan(m);
      const secret = text.slice(start, end);
      if (taken.overlaps(start, end)) continue;
      if (rule.validate !== undefined && !rule.validate(secret, text)) continue;
      if (isPlaceholderOrReference(secret)) continue;
      if (rule.id === 'url-password' && !this.#plausibleUrlPassword(secret, m.groups!)) continue;
      const finding = this.#finding(rule, n, start, end, secret, {
        masked: mask(secret, rule.publicPrefix),
        validated: rule.proves === true,
      });
      if (rule.id === 'private-key') {
        const body = (m.groups?.body ?? '').replace(/\\[nr]|\s/g, '');
        if (body.length < 40) {
          // A header alone on its line: the key is real if the next line is a PEM body.
          // (A sticky test from the match's end: a copy of the rest per match was quadratic.)
          BLANK_REST.lastIndex = m.index + m[0].length;
          if (body.length === 0 && BLANK_REST.test(text)) this.#pendingKey = { finding, line: n };
          continue;
        }
      }
      taken.add({ start, end });
      out.push(finding);
    }
  }

  #plausibleUrlPassword(password: string, g: Record<string, string | undefined>): boolean {
    if (password.length < 3 || password.includes('`') || g.host === '') return false;
    if (!/^[a-z][a-z0-9+.-]{1,20}$/.test(g.scheme!)) return false;
    if (password === g.user) return false;
    if (/^%(?:s|d|\(|\{)|^\$|^\{|^:|\*{3}/.test(password)) return false;
    // A test suite's database on this machine holds no one's data.
    if (this.#test && /^(?:localhost|127\.0\.0\.1|\[::1\]|db|postgres|mysql|redis)$/.test(g.host!))
      return false;
    return true;
  }

  /** Call after the last line. */
  end(): Finding[] {
    this.#pendingKey = undefined;
    return [];
  }
}

/** Nothing but blanks, quotes, commas and `\n` escapes up to the end of the line. */
const BLANK_REST = /(?:\\[nr]|["',\s])*$/y;

/** A line that continues a PEM block: base64, or a PEM header such as `Proc-Type:`. */
function isKeyBodyLine(line: string): boolean {
  const t = line.replace(/^[\s"'+]+|[\s"',]+$|\\n/g, '');
  return /^[A-Za-z0-9+/=]{40,}$/.test(t) || /^(?:Proc-Type|DEK-Info|Comment):/.test(t);
}

/** All findings in `text`, as from a file named `file`. */
export function scanText(text: string, file: string, options: ScanOptions = {}): Finding[] {
  const s = new FileScanner({ file }, options);
  const out = s.text(text);
  out.push(...s.end());
  return out;
}

/** The byte order of UTF-16 bytes that start with a byte order mark (FF FE, FE FF), or undefined. */
function utf16Order(bytes: Uint8Array): 'le' | 'be' | undefined {
  if (bytes.length < 2) return undefined;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'be';
  return undefined;
}

/**
 * Decodes UTF-16 (its byte order mark taken off) chunk by chunk: a code unit or a surrogate
 * pair split across chunks is joined. Big-endian units are swapped in a copy, zeroed once
 * decoded (it holds the file's text).
 */
class Utf16Decoder {
  readonly #decoder = new StringDecoder('utf16le');
  readonly #be: boolean;
  /** The first byte of a big-endian unit split across chunks. */
  #odd: number | undefined;

  constructor(order: 'le' | 'be') {
    this.#be = order === 'be';
  }

  write(chunk: Buffer): string {
    if (!this.#be) return this.#decoder.write(chunk);
    const carry = this.#odd;
    const total = (carry === undefined ? 0 : 1) + chunk.length;
    const units = Buffer.alloc(total - (total % 2));
    let at = 0;
    if (carry !== undefined && units.length > 0) units[at++] = carry;
    chunk.copy(units, at, 0, units.length - at);
    if (total % 2 === 0) this.#odd = undefined;
    else if (chunk.length > 0) this.#odd = chunk[chunk.length - 1];
    units.swap16();
    const text = this.#decoder.write(units);
    units.fill(0);
    return text;
  }

  /** What is left: a lone last byte of big-endian text is dropped, as a whole read drops it. */
  end(): string {
    this.#odd = undefined;
    return this.#decoder.end();
  }
}

/** The text of UTF-16 bytes that start with a byte order mark, or undefined. */
function utf16Text(bytes: Buffer): string | undefined {
  const order = utf16Order(bytes);
  if (order === undefined) return undefined;
  const decoder = new Utf16Decoder(order);
  return decoder.write(bytes.subarray(2)) + decoder.end();
}

/** How much of a file's start is looked at for a NUL byte (git's own measure for binary). */
const BINARY_PROBE = 8000;

/** Why a file's content is not scanned: it is binary (a NUL byte near the start). */
function looksBinary(chunk: Uint8Array): boolean {
  return chunk.subarray(0, BINARY_PROBE).includes(0);
}

/**
 * A file the scanner opened and did not read as text, and why: `BINARY`, a NUL byte in its
 * first 8000 bytes and no UTF-16 byte order mark. Front ends list it as not scanned, never as
 * clean: what such a file holds (a keystore, a database, UTF-16 text without its mark) is not
 * read by any rule.
 */
export interface NotScanned {
  readonly notScanned: 'BINARY';
}

const BINARY: NotScanned = Object.freeze({ notScanned: 'BINARY' });

/**
 * Reads UTF-8 chunks into a file scanner: a line split across chunks is joined. Only each new
 * chunk is searched for a line end, and the pieces of a line not ended yet are kept apart and
 * joined once, when it ends: a line of many chunks (a minified bundle, a file of one line)
 * costs its length, not its length once per chunk.
 */
class ChunkReader {
  readonly #scanner: FileScanner;
  readonly #decoder = new StringDecoder('utf8');
  readonly #out: Finding[] = [];
  readonly #held: HeldLine;

  constructor(scanner: FileScanner, file: string, max: number = MAX_LINE_LENGTH) {
    this.#scanner = scanner;
    this.#held = new HeldLine(file, max);
  }

  push(chunk: Buffer | string): void {
    const piece = typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    scanWork.lineEndChars += piece.length;
    const last = piece.lastIndexOf('\n');
    if (last < 0) {
      this.#held.hold(piece);
      return;
    }
    this.#held.check(piece.indexOf('\n'));
    const text = this.#held.take(piece.slice(0, last + 1));
    for (const f of this.#scanner.text(text)) this.#out.push(f);
    this.#held.hold(piece.slice(last + 1));
  }

  end(): Finding[] {
    this.#held.hold(this.#decoder.end());
    const carry = this.#held.take();
    if (carry !== '') for (const f of this.#scanner.text(carry)) this.#out.push(f);
    for (const f of this.#scanner.end()) this.#out.push(f);
    return this.#out;
  }
}

/**
 * Scans a byte stream line by line, chunk by chunk (UTF-8; a line split across chunks is
 * joined). Returns no findings for binary content.
 */
export async function scanStream(
  stream: AsyncIterable<Buffer | string>,
  origin: LineOrigin,
  options: ScanOptions = {},
): Promise<Finding[]> {
  const reader = new ChunkReader(
    new FileScanner(origin, options),
    origin.file,
    options.maxLineLength,
  );
  let first = true;
  for await (const chunk of stream) {
    if (first && typeof chunk !== 'string' && looksBinary(chunk)) return [];
    first = false;
    reader.push(chunk);
  }
  return reader.end();
}

/** Files up to this size are read whole into one reused buffer; larger ones in chunks. */
const WHOLE_FILE = 8 * 1024 * 1024;
const CHUNK = 1024 * 1024;
let readBuffer: Buffer = Buffer.alloc(0);

/**
 * Reads `fd` into the shared buffer, growing it up to WHOLE_FILE: the bytes read, and whether
 * they are the whole file.
 */
function readStart(fd: number): { bytes: Buffer; whole: boolean } {
  if (readBuffer.length === 0) readBuffer = Buffer.allocUnsafe(CHUNK);
  let n = 0;
  for (;;) {
    const r = readSync(fd, readBuffer, n, readBuffer.length - n, null);
    if (r === 0) return { bytes: readBuffer.subarray(0, n), whole: true };
    n += r;
    if (n === readBuffer.length) {
      if (n >= WHOLE_FILE) return { bytes: readBuffer, whole: false };
      const bigger = Buffer.allocUnsafe(Math.min(2 * n, WHOLE_FILE));
      readBuffer.copy(bigger, 0, 0, n);
      readBuffer.fill(0);
      readBuffer = bigger;
    }
  }
}

/**
 * Scans one file: `path` on disk, shown and keyed in baselines as `shown`. Lockfiles, the
 * baseline, images and other files binary by their name are skipped (returns undefined); a
 * file found binary on reading (a NUL byte in its first 8000 bytes) is not scanned and says so
 * (`NotScanned`, `BINARY`). UTF-16 with its byte order mark (LE or BE, what Windows
 * PowerShell 5's `>` writes) is text though every other byte is NUL: it is decoded, at any
 * size. Synchronous, with no allocation per file: a file of up to 8 MiB is read at once into
 * one reused buffer and read as bytes; a larger one is read on in chunks of 1 MiB. Buffers
 * are zeroed after use. Only a regular file is read: the walk passes over the others, and one
 * swapped in since (a FIFO, a device) is opened without waiting and skipped (returns
 * undefined), never read.
 */
export function scanFile(
  path: string,
  shown: string,
  options: ScanOptions = {},
): Finding[] | NotScanned | undefined {
  if (pathFilter(shown, options.baselineFile) !== undefined) return undefined;
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  let start: Buffer | undefined;
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const read = readStart(fd);
    start = read.bytes;
    const scanner = new FileScanner({ file: shown }, options);
    const order = utf16Order(start);
    if (order === undefined && looksBinary(start)) return BINARY;
    if (read.whole) {
      const utf16 = order === undefined ? undefined : utf16Text(start);
      const out = utf16 === undefined ? scanner.bytes(start) : scanner.text(utf16);
      for (const f of scanner.end()) out.push(f);
      return out;
    }
    const reader = new ChunkReader(scanner, shown, options.maxLineLength);
    const utf16 = order === undefined ? undefined : new Utf16Decoder(order);
    const push = (bytes: Buffer) => reader.push(utf16 === undefined ? bytes : utf16.write(bytes));
    push(utf16 === undefined ? start : start.subarray(2));
    const chunk = Buffer.allocUnsafe(CHUNK);
    try {
      for (let r = readSync(fd, chunk, 0, CHUNK, null); r > 0; ) {
        push(chunk.subarray(0, r));
        r = readSync(fd, chunk, 0, CHUNK, null);
      }
    } finally {
      chunk.fill(0);
    }
    if (utf16 !== undefined) reader.push(utf16.end());
    return reader.end();
  } finally {
    start?.fill(0); // the shared buffer may hold a secret: keep no copy of it
    closeSync(fd);
  }
}
