/**
 * The part of TOML that coffer needs for Codex's `config.toml`: a reader that checks the whole
 * file (strings, numbers, dates, arrays, inline tables, tables and arrays of tables, repeated
 * keys and tables refused) and reports where each key and table is, and an edit that puts one
 * table (`[mcp_servers.coffer]`) in place, leaving every other byte as it was. Values coffer
 * writes are strings and arrays of strings. A file that does not parse is refused with its
 * line, and nothing is written.
 */
import { CofferError } from '../errors.js';
import { lineColumn } from './json-edit.js';

export interface TomlTable {
  /** The table's dotted path ([] for the top level). */
  path: string[];
  /** Written as [[path]]. */
  arrayItem: boolean;
  line: number;
  /** Offset of the header line (0 for the top level). */
  start: number;
  /** Offset just past the table's last header or key line (its newline included). */
  contentEnd: number;
}

export interface TomlKey {
  /** The full dotted path: the table's path, then the key's. */
  path: string[];
  line: number;
  /** Offset of the key's line, and just past its value's last line (its newline included). */
  start: number;
  end: number;
  /** The path of the table the key is written in. */
  table: string[];
  /** Strings, booleans as true/false, arrays, inline tables as objects; numbers and dates as their text. */
  value: unknown;
}

export interface TomlDoc {
  tables: TomlTable[];
  keys: TomlKey[];
}

const BARE = /^[A-Za-z0-9_-]+/;
const NUMBER =
  /^(?:[+-]?(?:inf|nan)|0x[0-9A-Fa-f](?:_?[0-9A-Fa-f])*|0o[0-7](?:_?[0-7])*|0b[01](?:_?[01])*|[+-]?(?:0|[1-9](?:_?\d)*)(?:\.\d(?:_?\d)*)?(?:[eE][+-]?\d(?:_?\d)*)?)/;
const DATE =
  /^(?:\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2})?)?|\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)/;

/**
 * The refusal of a text that is not TOML, with where it stops being TOML (1-based line and
 * column), for a caller that reports the place without the message (whose problem may quote
 * a key or a table name of the file).
 */
export class TomlSyntaxError extends CofferError {
  readonly line: number;
  readonly column: number;

  constructor(file: string, line: number, column: number, problem: string) {
    super('INVALID_ARGUMENT', `${file}:${line}: ${problem}`, fixHint());
    this.line = line;
    this.column = column;
  }
}

function fixHint(): { hint: string } {
  return {
    hint: 'Fix the file (or move it aside), then run the command again; nothing was written.',
  };
}

/**
 * Reads a TOML document.
 * @throws TomlSyntaxError (INVALID_ARGUMENT) `file:line: ...` when it is not valid TOML.
 */
export function parseToml(text: string, file: string): TomlDoc {
  // A byte order mark at the start (some Windows editors write one) is not content.
  let i = text.startsWith('\uFEFF') ? 1 : 0;
  const fail = (message: string, at = i): never => {
    const { line, column } = lineColumn(text, at);
    throw new TomlSyntaxError(file, line, column, message);
  };
  const ws = (): void => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  const comment = (): void => {
    if (text[i] !== '#') return;
    while (i < text.length && text[i] !== '\n') {
      const c = text.charCodeAt(i);
      if ((c < 0x20 && c !== 9 && !(c === 13 && text[i + 1] === '\n')) || c === 0x7f)
        fail('control character in a comment');
      i++;
    }
  };
  const newline = (): boolean => {
    if (text[i] === '\n') {
      i++;
      return true;
    }
    if (text[i] === '\r' && text[i + 1] === '\n') {
      i += 2;
      return true;
    }
    return false;
  };
  const endOfLine = (): void => {
    ws();
    comment();
    if (i < text.length && !newline()) fail('expected the end of the line');
  };
  const hex = (n: number): string => {
    const h = text.slice(i, i + n);
    if (!new RegExp(`^[0-9A-Fa-f]{${n}}$`).test(h)) fail('invalid unicode escape');
    const cp = Number.parseInt(h, 16);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail('invalid unicode escape');
    i += n;
    return String.fromCodePoint(cp);
  };
  const basic = (multi: boolean): string => {
    const start = i;
    i += multi ? 3 : 1;
    if (multi) newline();
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text[i]!;
      if (multi && text.startsWith('"""', i)) {
        let n = 3;
        while (text[i + n] === '"' && n < 5) n++;
        out += '"'.repeat(n - 3);
        i += n;
        return out;
      }
      if (!multi && c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = text[i + 1];
        i += 2;
        const simple: Record<string, string> = {
          b: '\b',
          t: '\t',
          n: '\n',
          f: '\f',
          r: '\r',
          e: '\x1b',
          '"': '"',
          '\\': '\\',
        };
        if (e !== undefined && simple[e] !== undefined) out += simple[e];
        else if (e === 'u') out += hex(4);
        else if (e === 'U') out += hex(8);
        else if (e === 'x') out += hex(2);
        else if (multi && (e === ' ' || e === '\t' || e === '\n' || e === '\r')) {
          // A line-ending backslash: the newline and the whitespace after it are dropped.
          i--;
          ws();
          if (!newline()) fail('only whitespace may follow a line-ending backslash');
          while (/[ \t\r\n]/.test(text[i] ?? '')) i++;
        } else fail('invalid escape in a string', i - 2);
        continue;
      }
      if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
        if (!multi) fail('newline in a one-line string');
        out += c;
        i++;
        continue;
      }
      const code = c.charCodeAt(0);
      if ((code < 0x20 && code !== 9) || code === 0x7f) fail('control character in a string');
      out += c;
      i++;
    }
  };
  const literal = (multi: boolean): string => {
    const start = i;
    i += multi ? 3 : 1;
    if (multi) newline();
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text[i]!;
      if (multi && text.startsWith("'''", i)) {
        let n = 3;
        while (text[i + n] === "'" && n < 5) n++;
        out += "'".repeat(n - 3);
        i += n;
        return out;
      }
      if (!multi && c === "'") {
        i++;
        return out;
      }
      if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
        if (!multi) fail('newline in a one-line string');
      } else {
        const code = c.charCodeAt(0);
        if ((code < 0x20 && code !== 9) || code === 0x7f) fail('control character in a string');
      }
      out += c;
      i++;
    }
  };
  const keyPart = (): string => {
    if (text[i] === '"') {
      if (text.startsWith('"""', i)) fail('a key cannot be a multi-line string');
      return basic(false);
    }
    if (text[i] === "'") {
      if (text.startsWith("'''", i)) fail('a key cannot be a multi-line string');
      return literal(false);
    }
    const m = BARE.exec(text.slice(i, i + 256));
    if (!m) fail('expected a key');
    i += m![0].length;
    return m![0];
  };
  const key = (): string[] => {
    const parts = [keyPart()];
    for (;;) {
      ws();
      if (text[i] !== '.') return parts;
      i++;
      ws();
      parts.push(keyPart());
    }
  };
  /** Whitespace, newlines and comments inside an array (or a multi-line inline table). */
  const gap = (): void => {
    for (;;) {
      ws();
      comment();
      if (!newline()) return;
    }
  };
  const value = (depth: number): unknown => {
    if (depth > 100) fail('nested too deeply');
    const c = text[i];
    if (c === '"') return basic(text.startsWith('"""', i));
    if (c === "'") return literal(text.startsWith("'''", i));
    if (c === '[') {
      i++;
      const items: unknown[] = [];
      for (;;) {
        gap();
        if (text[i] === ']') {
          i++;
          return items;
        }
        items.push(value(depth + 1));
        gap();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return items;
        }
        fail('expected "," or "]" in an array');
      }
    }
    if (c === '{') {
      i++;
      const table: Record<string, unknown> = {};
      const seen = new Set<string>();
      gap();
      if (text[i] === '}') {
        i++;
        return table;
      }
      for (;;) {
        gap();
        const at = i;
        const k = key();
        const name = JSON.stringify(k);
        if (seen.has(name)) fail(`key ${k.join('.')} defined twice`, at);
        seen.add(name);
        ws();
        if (text[i] !== '=') fail('expected "=" after a key');
        i++;
        ws();
        setPath(table, k, value(depth + 1));
        gap();
        if (text[i] === ',') {
          i++;
          gap();
          if (text[i] === '}') {
            i++;
            return table;
          }
          continue;
        }
        if (text[i] === '}') {
          i++;
          return table;
        }
        fail('expected "," or "}" in an inline table');
      }
    }
    const rest = text.slice(i, i + 64);
    if (rest.startsWith('true') || rest.startsWith('false')) {
      const b = rest.startsWith('true');
      i += b ? 4 : 5;
      return b;
    }
    const d = DATE.exec(rest);
    if (d && /^\d{4}-|^\d{2}:/.test(rest)) {
      i += d[0].length;
      return d[0];
    }
    const n = NUMBER.exec(rest);
    if (n && n[0] !== '' && n[0] !== '+' && n[0] !== '-') {
      i += n[0].length;
      return n[0];
    }
    return fail(i >= text.length ? 'expected a value' : 'invalid value');
  };

  const tables: TomlTable[] = [{ path: [], arrayItem: false, line: 1, start: 0, contentEnd: 0 }];
  const keys: TomlKey[] = [];
  const definedTables = new Set<string>();
  const definedKeys = new Set<string>();
  let current = tables[0]!;
  while (i < text.length) {
    ws();
    if (text[i] === '#') {
      comment();
      if (i < text.length && !newline()) fail('expected the end of the line');
      continue;
    }
    if (newline()) continue;
    if (i >= text.length) break;
    const lineStart = text.lastIndexOf('\n', i - 1) + 1;
    if (text[i] === '[') {
      const arrayItem = text[i + 1] === '[';
      i += arrayItem ? 2 : 1;
      ws();
      const path = key();
      ws();
      if (arrayItem ? !text.startsWith(']]', i) : text[i] !== ']')
        fail('expected "]" after a table name');
      i += arrayItem ? 2 : 1;
      const name = JSON.stringify(path);
      if (!arrayItem) {
        if (definedTables.has(name) || definedKeys.has(name))
          fail(`table [${path.join('.')}] defined twice`, lineStart);
        definedTables.add(name);
      }
      endOfLine();
      current = {
        path,
        arrayItem,
        line: lineColumn(text, lineStart).line,
        start: lineStart,
        contentEnd: i,
      };
      tables.push(current);
      continue;
    }
    const at = i;
    const k = key();
    ws();
    if (text[i] !== '=') fail('expected "=" after a key');
    i++;
    ws();
    const v = value(0);
    const path = [...current.path, ...k];
    const name = JSON.stringify(path);
    // An array of tables starts a fresh table each time: its keys may repeat across items.
    const scope = current.arrayItem ? `${tables.length}:${name}` : name;
    if (definedKeys.has(scope) || definedTables.has(name))
      fail(`key ${k.join('.')} defined twice`, at);
    definedKeys.add(scope);
    endOfLine();
    current.contentEnd = i;
    keys.push({
      path,
      line: lineColumn(text, at).line,
      start: lineStart,
      end: i,
      table: current.path,
      value: v,
    });
  }
  return { tables, keys };
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  const own = (t: Record<string, unknown>, k: string, v: unknown): void => {
    // A "__proto__" key is a key like any other.
    Object.defineProperty(t, k, { value: v, enumerable: true, writable: true, configurable: true });
  };
  let t = target;
  for (const p of path.slice(0, -1)) {
    const next = Object.hasOwn(t, p) ? t[p] : undefined;
    if (typeof next !== 'object' || next === null) own(t, p, {});
    t = t[p] as Record<string, unknown>;
  }
  own(t, path[path.length - 1]!, value);
}

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.every((p, k) => path[k] === p);
}

/** A TOML basic string. */
export function tomlString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A key: bare when it can be, quoted otherwise. */
export function tomlKey(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : tomlString(k);
}

export type TomlSimpleValue = string | boolean | readonly string[];

function renderValue(v: TomlSimpleValue): string {
  if (typeof v === 'boolean') return String(v);
  return typeof v === 'string' ? tomlString(v) : `[${v.map(tomlString).join(', ')}]`;
}

/** The text of one table with string and string-array values. */
export function renderTomlTable(
  path: readonly string[],
  entries: readonly (readonly [string, TomlSimpleValue])[],
): string {
  const lines = [`[${path.map(tomlKey).join('.')}]`];
  for (const [k, v] of entries) lines.push(`${tomlKey(k)} = ${renderValue(v)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Puts the entries of the table at `path` in place: in an existing `[path]` table each key is
 * replaced where it stands or added, and its other keys and `[path.*]` tables stay (a user's
 * `env`, `cwd` or timeout); with `mode` 'whole' the table and its `[path.*]` tables are
 * replaced by the entries alone. A missing table is appended. Every other byte stays. Refused when the file defines the same table another way (dotted keys, an
 * inline table), which a table header could not replace.
 */
export function setTomlTable(
  text: string,
  file: string,
  path: readonly string[],
  entries: readonly (readonly [string, TomlSimpleValue])[],
  mode: 'keys' | 'whole' = 'keys',
): string {
  const doc = parseToml(text, file);
  const block = renderTomlTable(path, entries);
  const idx = doc.tables.findIndex(
    (t) => !t.arrayItem && t.path.length === path.length && startsWith(t.path, path),
  );
  const other = doc.keys.find((k) => {
    if (!startsWith(k.path, path)) return false;
    // Keys inside the [path] table or its [path.*] tables are the table's own.
    const owner = [...doc.tables].reverse().find((t) => t.start <= offsetOfLine(text, k.line));
    return !(owner && startsWith(owner.path, path) && owner.path.length >= path.length);
  });
  if (other) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `${file}:${other.line}: ${path.join('.')} is defined with dotted keys or an inline table`,
      {
        hint: `Write it as a [${path.join('.')}] table (or remove it), then run the command again; nothing was written.`,
      },
    );
  }
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const out = eol === '\n' ? block : block.replace(/\n/g, eol);
  if (idx < 0) {
    if (text === '') return block;
    const nl = text.endsWith('\n') ? '' : eol;
    return `${text}${nl}${eol}${out}`;
  }
  if (mode === 'whole') {
    let last = idx;
    while (
      last + 1 < doc.tables.length &&
      startsWith(doc.tables[last + 1]!.path, path) &&
      doc.tables[last + 1]!.path.length > path.length
    )
      last++;
    const start = doc.tables[idx]!.start;
    const end = doc.tables[last]!.contentEnd;
    const tail = text.slice(end);
    // The old block may have ended without a newline at the end of the file.
    return (
      text.slice(0, start) +
      (tail === '' && !text.endsWith('\n') ? out.replace(/\r?\n$/, '') : out) +
      tail
    );
  }
  // The table is there: each entry's key line is replaced where it stands (or added after the
  // table's last key); the table's other keys, its comments and its [path.*] tables stay.
  const table = doc.tables[idx]!;
  const edits: { start: number; end: number; text: string }[] = [];
  const added: string[] = [];
  for (const [k, v] of entries) {
    const line = `${tomlKey(k)} = ${renderValue(v)}`;
    const have = doc.keys.find(
      (key) =>
        key.path.length === path.length + 1 &&
        key.path[path.length] === k &&
        key.table.length === path.length &&
        startsWith(key.table, path),
    );
    if (have === undefined) added.push(line);
    else {
      const nl = text.slice(have.start, have.end).match(/\r?\n$/)?.[0] ?? '';
      edits.push({ start: have.start, end: have.end, text: `${line}${nl}` });
    }
  }
  if (added.length > 0) {
    const at = table.contentEnd;
    const before = at > 0 && text[at - 1] !== '\n' ? eol : '';
    edits.push({ start: at, end: at, text: `${before}${added.join(eol)}${eol}` });
  }
  edits.sort((a, b) => b.start - a.start);
  let out2 = text;
  for (const e of edits) out2 = out2.slice(0, e.start) + e.text + out2.slice(e.end);
  return out2;
}

function offsetOfLine(text: string, line: number): number {
  let at = 0;
  for (let l = 1; l < line; l++) at = text.indexOf('\n', at) + 1;
  return at;
}
