/**
 * Edits of JSON configuration files that leave every byte outside the edited value as it
 * was: a small parser that keeps the offsets of each value, and edits (set a property,
 * append to an array, replace a value) that splice new text into the old. Strict JSON, or
 * JSONC (comments, trailing commas) where the client's file allows it (VS Code). A file that
 * does not parse is refused with its line and column, and nothing is written.
 */
import { CofferError } from '../errors.js';

export type JsonNode =
  | { kind: 'object'; start: number; end: number; props: JsonProp[] }
  | { kind: 'array'; start: number; end: number; items: JsonNode[] }
  | { kind: 'scalar'; start: number; end: number; value: string | number | boolean | null };

export interface JsonProp {
  key: string;
  keyStart: number;
  value: JsonNode;
}

export interface JsonParseOptions {
  /** Comments and trailing commas allowed (VS Code's JSONC). */
  jsonc?: boolean;
}

/** Line and column (1-based) of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * The refusal of a text that is not JSON, with where it stops being JSON (1-based line and
 * column), for a caller that reports the place without the message (whose problem may quote
 * a character or a property name of the file).
 */
export class JsonSyntaxError extends CofferError {
  readonly line: number;
  readonly column: number;

  constructor(file: string, line: number, column: number, problem: string) {
    super('INVALID_ARGUMENT', `${file}:${line}:${column}: ${problem}`, {
      hint: 'Fix the file (or move it aside), then run the command again; nothing was written.',
    });
    this.line = line;
    this.column = column;
  }
}

/**
 * Parses `text` keeping offsets. `file` names the file in the error.
 * @throws JsonSyntaxError (INVALID_ARGUMENT) `file:line:column: ...` when the text is not JSON.
 */
export function parseJsonTree(
  text: string,
  file: string,
  options: JsonParseOptions = {},
): JsonNode {
  const jsonc = options.jsonc === true;
  let i = 0;
  const fail = (message: string, at = i): never => {
    const { line, column } = lineColumn(text, at);
    throw new JsonSyntaxError(file, line, column, message);
  };
  const skip = (): void => {
    for (;;) {
      const c = text[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
      else if (c === '\uFEFF' && i === 0) i++;
      else if (jsonc && c === '/' && text[i + 1] === '/') {
        while (i < text.length && text[i] !== '\n') i++;
      } else if (jsonc && c === '/' && text[i + 1] === '*') {
        const end = text.indexOf('*/', i + 2);
        if (end < 0) fail('unterminated comment');
        i = end + 2;
      } else return;
    }
  };
  const str = (): string => {
    const start = i;
    i++;
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c === '\\') {
        const e = text[i + 1];
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          i += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else fail('invalid escape in a string');
      } else if (c.charCodeAt(0) < 0x20) {
        fail('control character in a string');
      } else {
        out += c;
        i++;
      }
    }
  };
  const value = (depth: number): JsonNode => {
    if (depth > 200) fail('nested too deeply');
    skip();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const props: JsonProp[] = [];
      const seen = new Set<string>();
      skip();
      if (text[i] === '}') return { kind: 'object', start, end: ++i, props };
      for (;;) {
        skip();
        if (jsonc && text[i] === '}' && props.length > 0)
          return { kind: 'object', start, end: ++i, props };
        if (text[i] !== '"') fail('expected a property name in double quotes');
        const keyStart = i;
        const key = str();
        if (seen.has(key)) fail(`duplicate property "${key}"`, keyStart);
        seen.add(key);
        skip();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        props.push({ key, keyStart, value: value(depth + 1) });
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') return { kind: 'object', start, end: ++i, props };
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      skip();
      if (text[i] === ']') return { kind: 'array', start, end: ++i, items };
      for (;;) {
        skip();
        if (jsonc && text[i] === ']' && items.length > 0)
          return { kind: 'array', start, end: ++i, items };
        items.push(value(depth + 1));
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') return { kind: 'array', start, end: ++i, items };
        fail('expected "," or "]"');
      }
    }
    if (c === '"') {
      const value = str();
      return { kind: 'scalar', start, end: i, value };
    }
    const lit = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(
      text.slice(i, i + 400),
    );
    if (lit) {
      i += lit[0].length;
      return { kind: 'scalar', start, end: i, value: JSON.parse(lit[0]) };
    }
    return fail(i >= text.length ? 'unexpected end of file' : `unexpected "${text[i]}"`);
  };
  const root = value(0);
  skip();
  if (i < text.length) fail('unexpected text after the JSON value');
  return root;
}

/** The plain value of a node. */
export function jsonValue(node: JsonNode): unknown {
  if (node.kind === 'scalar') return node.value;
  if (node.kind === 'array') return node.items.map(jsonValue);
  const out: Record<string, unknown> = {};
  // defineProperty: a "__proto__" key is a property like any other, as in JSON.parse.
  for (const p of node.props) {
    Object.defineProperty(out, p.key, {
      value: jsonValue(p.value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** The node at `path` (property names and array indexes), or undefined. */
export function nodeAt(root: JsonNode, path: readonly (string | number)[]): JsonNode | undefined {
  let node: JsonNode | undefined = root;
  for (const step of path) {
    if (node === undefined) return undefined;
    if (typeof step === 'number') node = node.kind === 'array' ? node.items[step] : undefined;
    else node = node.kind === 'object' ? node.props.find((p) => p.key === step)?.value : undefined;
  }
  return node;
}

/** The file's indentation unit: the first indented line's leading whitespace (default 2 spaces). */
function indentUnit(text: string): string {
  const m = /\n([ \t]+)["{[\]}]/.exec(text);
  return m ? m[1]! : '  ';
}

/** The leading whitespace of the line holding `offset`. */
function lineIndent(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

/** `value` as JSON indented with `unit`, its later lines starting with `base`. */
function serialize(value: unknown, unit: string, base: string): string {
  return JSON.stringify(value, null, unit).replace(/\n/g, `\n${base}`);
}

/** The line break style of the file. */
function eol(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

/** A new file holding `value`. */
export function newJsonFile(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Replaces the text of `node` by `value`. */
export function replaceNode(text: string, node: JsonNode, value: unknown): string {
  const unit = indentUnit(text);
  const out = serialize(value, unit, lineIndent(text, node.start)).replace(/\n/g, eol(text));
  return text.slice(0, node.start) + out + text.slice(node.end);
}

/**
 * Sets `key` of the object at `objectPath` to `value`, creating missing objects on the way;
 * an existing value is replaced in place, a new property goes after the last one.
 * @throws CofferError INVALID_ARGUMENT when something on the path is not an object.
 */
export function setProperty(
  text: string,
  file: string,
  options: JsonParseOptions,
  objectPath: readonly string[],
  key: string,
  value: unknown,
): string {
  const root = parseJsonTree(text, file, options);
  // The deepest existing object on the path; what is missing below it is created as one value.
  let depth = 0;
  let obj = root;
  for (; depth < objectPath.length; depth++) {
    const next = nodeAt(obj, [objectPath[depth]!]);
    if (next === undefined) break;
    obj = next;
  }
  if (obj.kind !== 'object') {
    const where = [...objectPath.slice(0, depth)].join('.') || 'the top level';
    const { line } = lineColumn(text, obj.start);
    throw new CofferError('INVALID_ARGUMENT', `${file}:${line}: ${where} is not a JSON object`, {
      hint: 'Fix the file (or move it aside), then run the command again; nothing was written.',
    });
  }
  if (depth === objectPath.length) {
    const existing = obj.props.find((p) => p.key === key);
    return existing
      ? replaceNode(text, existing.value, value)
      : insertProperty(text, obj, key, value);
  }
  let nested: unknown = { [key]: value };
  for (let k = objectPath.length - 1; k > depth; k--) nested = { [objectPath[k]!]: nested };
  return insertProperty(text, obj, objectPath[depth]!, nested);
}

function insertProperty(
  text: string,
  obj: Extract<JsonNode, { kind: 'object' }>,
  key: string,
  value: unknown,
): string {
  const unit = indentUnit(text);
  const nl = eol(text);
  const last = obj.props[obj.props.length - 1];
  if (last === undefined) {
    return intoEmpty(
      text,
      obj,
      '{}',
      (inner) => `${JSON.stringify(key)}: ${serialize(value, unit, inner)}`,
    );
  }
  const oneLine = !text.slice(obj.start, obj.end).includes('\n');
  const indent = oneLine ? '' : lineIndent(text, last.keyStart);
  const body = `${JSON.stringify(key)}: ${serialize(value, unit, indent)}`.replace(/\n/g, nl);
  const at = afterValue(text, last.value.end);
  const sep = oneLine ? ' ' : `${nl}${indent}`;
  // A comment that ends the last member's line (JSONC) stays on that line, after the comma.
  const comment = oneLine
    ? undefined
    : /^[ \t]*(?:\/\/[^\r\n]*|\/\*(?:(?!\*\/)[^\r\n])*\*\/[ \t]*)/.exec(text.slice(at.end))?.[0];
  const end = comment === undefined ? at.end : at.end + comment.length;
  return (
    text.slice(0, at.end) +
    (at.comma ? '' : ',') +
    text.slice(at.end, end) +
    sep +
    body +
    text.slice(end)
  );
}

/**
 * `text` with `node`, an empty object or array, holding one entry on its own line, indented
 * one unit deeper than the line the node starts on; comments inside it stay before the entry.
 * `entry` serializes it at the indentation it is given.
 */
function intoEmpty(
  text: string,
  node: { start: number; end: number },
  brackets: '{}' | '[]',
  entry: (inner: string) => string,
): string {
  const nl = eol(text);
  const base = lineIndent(text, node.start);
  const inner = base + indentUnit(text);
  const body = entry(inner).replace(/\n/g, nl);
  return `${text.slice(0, node.start)}${brackets[0]}${keptInside(text, node, nl)}${nl}${inner}${body}${nl}${base}${brackets[1]}${text.slice(node.end)}`;
}

/**
 * What an empty object or array holds between its brackets (JSONC comments), without the
 * trailing whitespace; '' when it holds nothing but whitespace.
 */
function keptInside(text: string, node: { start: number; end: number }, nl: string): string {
  const inside = text.slice(node.start + 1, node.end - 1);
  if (inside.trim() === '') return '';
  const kept = inside.trimEnd();
  // A comment on the bracket's own line stays there; one on a later line keeps its line.
  return kept.replace(/\r?\n/g, nl);
}

/** After a value: past a trailing comma (JSONC) if there is one. */
function afterValue(text: string, end: number): { end: number; comma: boolean } {
  const m = /^[ \t]*,/.exec(text.slice(end));
  return m ? { end: end + m[0].length, comma: true } : { end, comma: false };
}

/**
 * Appends `value` to the array at `path` (which must exist and be an array), in the
 * array's own layout: on its line for a one-line array, on a new line otherwise.
 */
export function appendItem(
  text: string,
  file: string,
  options: JsonParseOptions,
  path: readonly (string | number)[],
  value: unknown,
): string {
  const root = parseJsonTree(text, file, options);
  const arr = nodeAt(root, path);
  if (arr?.kind !== 'array') {
    const { line } = lineColumn(text, arr?.start ?? 0);
    throw new CofferError(
      'INVALID_ARGUMENT',
      `${file}:${line}: ${path.join('.')} is not a JSON array`,
      {
        hint: 'Fix the file (or move it aside), then run the command again; nothing was written.',
      },
    );
  }
  const last = arr.items[arr.items.length - 1];
  const unit = indentUnit(text);
  if (last === undefined) {
    // Comments in the empty array stay, the item after them.
    if (keptInside(text, arr, eol(text)) === '') return replaceNode(text, arr, [value]);
    return intoEmpty(text, arr, '[]', (inner) => serialize(value, unit, inner));
  }
  const nl = eol(text);
  const oneLine = !text.slice(arr.start, arr.end).includes('\n');
  const indent = oneLine ? '' : lineIndent(text, last.start);
  const body = serialize(value, unit, indent).replace(/\n/g, nl);
  const at = afterValue(text, last.end);
  const sep = oneLine ? ' ' : `${nl}${indent}`;
  return text.slice(0, at.end) + (at.comma ? '' : ',') + sep + body + text.slice(at.end);
}
