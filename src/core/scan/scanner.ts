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
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import {
  isMinifiedPath,
  isPlaceholderOrReference,
  isTestPath,
  maskInertSpans,
  pathFilter,
} from './filters.js';
import { type FileKind, fileKind, findGeneric, GENERIC_HINT } from './generic.js';
import { hintRegex, PROVIDER_HINT, PROVIDER_RULES, type SecretRule, secretSpan } from './rules.js';
import type { StoredValueFinder, StoredValueMatch } from './stored-values.js';
import type { Finding, LineOrigin } from './types.js';

/** What a scan looks for. */
export interface ScanOptions {
  /** Stored values to find (from the vault); none when absent. */
  readonly storedValues?: StoredValueFinder | undefined;
  /** Skip the generic keyword detector (provider rules and stored values only). */
  readonly noGeneric?: boolean | undefined;
}

export const GENERIC_RULE_ID = 'generic-secret';
export const STORED_VALUE_RULE_ID = 'coffer-stored-value';

const ALLOW = /coffer:allow|pragma: ?allowlist secret|pragma: ?whitelist secret/;
const ALLOW_NEXT = /pragma: ?allowlist nextline secret|coffer:allow-next-line/;
/** A line longer than this in a code file is minified: keyword matches are not tried. */
const MINIFIED_LINE = 1000;

const sha1 = (s: string): string => createHash('sha1').update(s, 'utf8').digest('hex');

function mask(secret: string, publicPrefix: number): string {
  return `${secret.slice(0, Math.min(publicPrefix, secret.length))}****`;
}

interface Span {
  start: number;
  end: number;
}

function overlaps(spans: Span[], start: number, end: number): boolean {
  for (const s of spans) if (start < s.end && end > s.start) return true;
  return false;
}

const NO_MATCHES: readonly StoredValueMatch[] = [];

/**
 * A line without a match of this regex has nothing any rule could find: every provider rule's
 * literals, the generic detector's keywords (case-insensitive, spelt as classes) and the allow
 * comments, which must be read to be honoured.
 */
const LINE_HINT = new RegExp(
  [
    ...new Set([
      ...PROVIDER_HINT.source.split('|'),
      ...GENERIC_HINT.source.replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`).split('|'),
      'coffer:allow',
      'pragma',
    ]),
  ].join('|'),
  'g',
);

/** How many newlines `text` holds from `from` to `to`. */
function countLines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** A scanner rule with its own copy of the regex and the test of its hints. */
interface RuleCheck extends SecretRule {
  readonly hint: RegExp;
}

const RULE_CHECKS: readonly RuleCheck[] = PROVIDER_RULES.map((r) => ({
  ...r,
  regex: new RegExp(r.regex.source, r.regex.flags),
  hint: hintRegex([r], r.regex.flags.includes('i') ? 'i' : ''),
}));

/** Scans the lines of one file (or of one file's diff) in order. */
export class FileScanner {
  readonly #origin: LineOrigin;
  readonly #options: ScanOptions;
  readonly #kind: FileKind;
  readonly #test: boolean;
  readonly #minified: boolean;
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
  }

  #finding(
    rule: { id: string; description: string; detectSecretsType?: string | undefined },
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
      hashedSecret: sha1(secret),
      ...(rule.detectSecretsType !== undefined
        ? { detectSecretsType: rule.detectSecretsType }
        : {}),
      ...extra,
    };
  }

  /** The findings of one line (1-based `n`), in column order. */
  line(raw: string, n: number): Finding[] {
    const stored = this.#options.storedValues;
    return this.#line(raw, n, stored === undefined ? NO_MATCHES : stored.find(raw), 0);
  }

  /**
   * The findings of the lines of `text` (complete lines; a last one without a newline is
   * read as a line too), numbered on from the lines given before. One pass: a regex of every
   * rule's literals finds the next line worth reading, and the lines between are only
   * counted; stored values are looked for in the whole text at once.
   */
  text(text: string): Finding[] {
    const out: Finding[] = [];
    const stored = this.#options.storedValues?.find(text) ?? NO_MATCHES;
    let k = 0;
    let pos = 0;
    let n = this.#next;
    const hint = LINE_HINT;
    while (pos < text.length) {
      let start = pos;
      if (this.#pendingKey === undefined && this.#allowNext !== n) {
        hint.lastIndex = pos;
        const m = hint.exec(text);
        let at = m === null ? text.length : m.index;
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

  #line(raw: string, n: number, stored: readonly StoredValueMatch[], offset: number): Finding[] {
    const out: Finding[] = [];
    const pending = this.#pendingKey;
    this.#pendingKey = undefined;
    if (pending !== undefined && pending.line + 1 === n && isKeyBodyLine(raw)) {
      out.push(pending.finding);
    }
    if (this.#allowNext === n || ALLOW.test(raw)) return out;
    if (ALLOW_NEXT.test(raw)) this.#allowNext = n + 1;
    const text = maskInertSpans(raw);
    const taken: Span[] = [];
    for (const x of stored) {
      const m = offset === 0 ? x : { ...x, start: x.start - offset, end: x.end - offset };
      taken.push(m);
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
    if (PROVIDER_HINT.test(text)) {
      for (const rule of RULE_CHECKS) this.#provider(rule, text, n, taken, out);
    }
    const minifiedLine = this.#minified || (this.#kind === 'code' && text.length > MINIFIED_LINE);
    if (!this.#options.noGeneric && !this.#test && !minifiedLine && GENERIC_HINT.test(text)) {
      for (const g of findGeneric(text, this.#kind)) {
        if (overlaps(taken, g.start, g.end)) continue;
        taken.push(g);
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

  #provider(rule: RuleCheck, text: string, n: number, taken: Span[], out: Finding[]): void {
    if (!rule.hint.test(text)) return;
    const { regex } = rule;
    regex.lastIndex = 0;
    for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
      const [start, end] = secretSpan(m);
      const secret = text.slice(start, end);
      if (overlaps(taken, start, end)) continue;
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
          const rest = text.slice(m.index + m[0].length).replace(/\\[nr]|["',\s]/g, '');
          if (body.length === 0 && rest === '') this.#pendingKey = { finding, line: n };
          continue;
        }
      }
      taken.push({ start, end });
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

/** Why a file's content is not scanned: it is binary (a NUL byte near the start). */
function looksBinary(chunk: Uint8Array): boolean {
  return chunk.subarray(0, 8000).includes(0);
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
  const s = new FileScanner(origin, options);
  const decoder = new StringDecoder('utf8');
  const out: Finding[] = [];
  let carry = '';
  let first = true;
  for await (const chunk of stream) {
    if (first && typeof chunk !== 'string' && looksBinary(chunk)) return [];
    first = false;
    const text = carry + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    const last = text.lastIndexOf('\n');
    if (last < 0) {
      carry = text;
      continue;
    }
    for (const f of s.text(text.slice(0, last + 1))) out.push(f);
    carry = text.slice(last + 1);
  }
  carry += decoder.end();
  if (carry !== '') out.push(...s.text(carry));
  out.push(...s.end());
  return out;
}

/** Files up to this size are read whole into one reused buffer; larger ones are streamed. */
const WHOLE_FILE = 8 * 1024 * 1024;
let readBuffer: Buffer = Buffer.alloc(0);

/** The content of a small file (undefined for a large one), read into the shared buffer. */
function readSmallFile(path: string): Buffer | undefined {
  const fd = openSync(path, 'r');
  try {
    if (readBuffer.length === 0) readBuffer = Buffer.allocUnsafe(1024 * 1024);
    let n = 0;
    for (;;) {
      const r = readSync(fd, readBuffer, n, readBuffer.length - n, null);
      if (r === 0) return readBuffer.subarray(0, n);
      n += r;
      if (n === readBuffer.length) {
        if (n >= WHOLE_FILE) return undefined; // a large file: streamed instead
        const bigger = Buffer.allocUnsafe(Math.min(2 * n, WHOLE_FILE + 1));
        readBuffer.copy(bigger, 0, 0, n);
        readBuffer.fill(0);
        readBuffer = bigger;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Scans one file: `path` on disk, shown and keyed in baselines as `shown`. Lockfiles, the
 * baseline, images and other binary files are skipped (returns undefined). A file of up to
 * 8 MiB is read at once (no stream, no allocation per file); a larger one is streamed.
 */
export async function scanFile(
  path: string,
  shown: string,
  options: ScanOptions = {},
): Promise<Finding[] | undefined> {
  if (pathFilter(shown) !== undefined) return undefined;
  const bytes = readSmallFile(path);
  if (bytes !== undefined) {
    if (looksBinary(bytes)) return [];
    const text = bytes.toString('utf8');
    bytes.fill(0); // the shared buffer may hold a secret: keep no copy of it
    return scanText(text, shown, options);
  }
  return scanStream(
    createReadStream(path, { highWaterMark: 256 * 1024 }),
    { file: shown },
    options,
  );
}
