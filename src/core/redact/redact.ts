/**
 * Redaction of strings and objects: known secret values, optionally well-known secret shapes
 * (`patterns.ts`), and values under keys whose names say they are secret.
 *
 * Each hidden value becomes one fixed marker (default `[REDACTED]`) that does not reveal its
 * length. All values are searched in a single pass (see `matcher.ts`): the longest value wins
 * at each position, overlapping occurrences are hidden together, so no fragment of a value is
 * left. Values shorter than `minLength` characters (default 4) are not searched for, because
 * masking `a` would destroy all output; the key-name rule still hides short values.
 *
 * Not done here: streams (`stream.ts`), logger wiring (`pino.ts`), binary data (typed arrays
 * and ArrayBuffers are copied by reference, never scanned), non-enumerable properties of
 * objects other than Errors (skipped, as JSON.stringify skips them). JavaScript strings cannot be wiped: the redactor keeps the values in memory
 * for its lifetime.
 */
import { checkMarker, DEFAULT_MARKER, DEFAULT_MIN_LENGTH, selectValues, Trie } from './matcher.js';
import { findPatternSpans } from './patterns.js';

export interface RedactorOptions {
  /** Secret values to hide wherever they appear. */
  values?: Iterable<string>;
  /** Also hide well-known secret shapes (`SECRET_PATTERNS`). Default false. */
  patterns?: boolean;
  /** Replacement text. Default `[REDACTED]`. Must not be empty. */
  marker?: string;
  /** Shortest value searched for in text, in code points. Default 4; empty values never are. */
  minLength?: number;
}

export interface Redactor {
  /** `s` with every known value (and, if enabled, every pattern) replaced by the marker. */
  redactString(s: string): string;
  /**
   * A deep copy of `obj` with every string redacted and every value under a sensitive key
   * (see `isSensitiveKey`) replaced by the marker, except `null` and `undefined`.
   * Arrays, plain objects, Maps, Sets and Dates are copied; Errors and other class instances
   * become objects with the same prototype and redacted own properties (Errors keep their
   * non-enumerable `message` and `stack`); cycles are preserved.
   */
  redactObject<T>(obj: T): T;
}

/**
 * Key names whose whole value is hidden, matched after lowercasing and dropping everything
 * but letters and digits (`api_key`, `API-Key`, `apiKey` all become `apikey`). Errs on the side
 * of hiding: `tokenCount` is hidden too.
 */
const SENSITIVE_KEY =
  /passw|passphrase|^pass$|^pwd$|secret|token|(?:api|access|private|master|signing|encryption)key|authorization|^auth$|credential|cookie|sessionid|signature|^dsn$|connectionstring/;

/** Whether values under a key of this name are hidden entirely by `redactObject`. */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key.toLowerCase().replace(/[^a-z0-9]/g, ''));
}

/**
 * Creates a redactor for a fixed set of values.
 * @throws TypeError for a non-string value; RangeError for an empty marker or a negative
 *   `minLength`.
 * @example
 * ```ts
 * const r = createRedactor({ values: [dbPassword], patterns: true });
 * r.redactString(`connecting with ${dbPassword}`); // 'connecting with [REDACTED]'
 * r.redactObject({ headers: { authorization: 'Basic dTpw' } }); // { headers: { authorization: '[REDACTED]' } }
 * ```
 */
export function createRedactor(options: RedactorOptions = {}): Redactor {
  const marker = checkMarker(options.marker ?? DEFAULT_MARKER);
  const values = selectValues(options.values ?? [], options.minLength ?? DEFAULT_MIN_LENGTH);
  const trie = new Trie(values.map(codeUnits), 0x10000);
  const patterns = options.patterns === true;

  const redactString = (s: string): string => {
    if (typeof s !== 'string') throw new TypeError('redactString expects a string');
    if (s.length === 0) return s;
    let spans = trie.maxLength > 0 ? trie.findSpans(codeUnits(s), 0, true).spans : [];
    // Patterns run on the original text, so a value masked first cannot break a pattern match.
    if (patterns) spans = mergeSpans(spans, findPatternSpans(s));
    if (spans.length === 0) return s;
    let out = '';
    let from = 0;
    for (let k = 0; k < spans.length; k += 2) {
      out += s.slice(from, spans[k]) + marker;
      from = spans[k + 1]!;
    }
    return out + s.slice(from);
  };

  const copy = (value: unknown, seen: Map<object, unknown>): unknown => {
    if (typeof value === 'string') return redactString(value);
    if (typeof value !== 'object' || value === null) return value;
    const done = seen.get(value);
    if (done !== undefined) return done;
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
    if (value instanceof Date) return new Date(value.getTime());
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      seen.set(value, out);
      for (const item of value) out.push(copy(item, seen));
      return out;
    }
    if (value instanceof Map) {
      const out = new Map<unknown, unknown>();
      seen.set(value, out);
      for (const [k, v] of value) {
        const hide = typeof k === 'string' && isSensitiveKey(k) && v !== null && v !== undefined;
        out.set(copy(k, seen), hide ? marker : copy(v, seen));
      }
      return out;
    }
    if (value instanceof Set) {
      const out = new Set<unknown>();
      seen.set(value, out);
      for (const item of value) out.add(copy(item, seen));
      return out;
    }
    const out: object = Object.create(Object.getPrototypeOf(value) as object | null);
    seen.set(value, out);
    const isError = value instanceof Error;
    for (const key of Reflect.ownKeys(value)) {
      const desc = Object.getOwnPropertyDescriptor(value, key);
      // Errors keep their non-enumerable message and stack; other hidden properties are skipped.
      if (desc === undefined || (!desc.enumerable && !isError)) continue;
      const v: unknown = 'value' in desc ? desc.value : Reflect.get(value, key);
      const hide = typeof key === 'string' && isSensitiveKey(key) && v !== null && v !== undefined;
      // defineProperty, not assignment: an own `__proto__` key must not set the prototype.
      Object.defineProperty(out, key, {
        value: hide ? marker : copy(v, seen),
        enumerable: desc.enumerable ?? false,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };

  return {
    redactString,
    redactObject: <T>(obj: T): T => copy(obj, new Map()) as T,
  };
}

/** The UTF-16 code units of `s`, the symbols string redaction matches on. */
function codeUnits(s: string): Uint16Array {
  const units = new Uint16Array(s.length);
  for (let i = 0; i < s.length; i++) units[i] = s.charCodeAt(i);
  return units;
}

/**
 * The union of two span lists as sorted, disjoint spans: overlapping spans merge into one,
 * spans that only touch stay apart (the rule of `Trie.findSpans`).
 */
function mergeSpans(a: readonly number[], b: readonly number[]): number[] {
  if (b.length === 0) return [...a];
  const pairs: [number, number][] = [];
  for (const list of [a, b]) {
    for (let k = 0; k < list.length; k += 2) pairs.push([list[k]!, list[k + 1]!]);
  }
  pairs.sort((x, y) => x[0] - y[0] || y[1] - x[1]);
  const out: number[] = [];
  for (const [start, end] of pairs) {
    const last = out.length - 1;
    if (last > 0 && start < out[last]!) out[last] = Math.max(out[last]!, end);
    else out.push(start, end);
  }
  return out;
}
