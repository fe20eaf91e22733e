/**
 * Redaction of strings and objects: known secret values, optionally well-known secret shapes
 * (`patterns.ts`), and values under keys whose names say they are secret.
 *
 * Each hidden value becomes one fixed marker (default `[REDACTED]`) that does not reveal its
 * length. All values are searched in a single linear pass (see `matcher.ts`): the union of all
 * occurrences is hidden, overlapping occurrences together, so no fragment of a value is
 * left. Values shorter than `minLength` characters (default 4) are not searched for, because
 * masking `a` would destroy all output; the key-name rule still hides short values.
 *
 * Objects are copied the way `JSON.stringify` sees them: own enumerable properties (getters
 * are called), `toJSON()` results, no functions' source. Errors keep their non-enumerable
 * `message`, `stack` and `cause`. Property names and Map keys are redacted too.
 *
 * Not done here: streams (`stream.ts`), logger wiring (`pino.ts`), binary data (typed arrays,
 * Buffers and ArrayBuffers are returned by reference, never scanned). JavaScript strings
 * cannot be wiped: the redactor keeps the values in memory for its lifetime.
 */
import { buildMatcher, type MatcherOptions } from './matcher.js';
import { findPatternSpans } from './patterns.js';

export interface RedactorOptions extends MatcherOptions {
  /** Secret values to hide wherever they appear. */
  values?: Iterable<string>;
  /** Also hide well-known secret shapes (`SECRET_PATTERNS`). Default false. */
  patterns?: boolean;
}

export interface Redactor {
  /** The replacement text this redactor writes. */
  readonly marker: string;
  /** `s` with every known value (and, if enabled, every pattern) replaced by the marker. */
  redactString(s: string): string;
  /**
   * A deep copy of `obj` with every string redacted and every value under a sensitive key
   * (see `isSensitiveKey`) replaced by the marker, except `null` and `undefined`. Arrays,
   * plain objects, Maps, Sets and Dates are copied; Errors and other class instances become
   * objects with the same prototype and redacted own properties; an object with a `toJSON`
   * method is replaced by its redacted result; cycles are kept. The input is never modified.
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
 * @throws TypeError for values that are not an iterable of strings; RangeError for an empty
 *   marker or a negative `minLength`.
 * @example
 * ```ts
 * const r = createRedactor({ values: [dbPassword], patterns: true });
 * r.redactString(`connecting with ${dbPassword}`); // 'connecting with [REDACTED]'
 * r.redactObject({ headers: { authorization: 'Basic dTpw' } }); // { headers: { authorization: '[REDACTED]' } }
 * ```
 */
export function createRedactor(options: RedactorOptions = {}): Redactor {
  const { marker, automaton } = buildMatcher(options.values ?? [], options, 'utf16');
  const patterns = options.patterns === true;

  const redactString = (s: string): string => {
    if (typeof s !== 'string') throw new TypeError('redactString expects a string');
    if (s.length === 0) return s;
    let spans = automaton.spansOf(s);
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

  const hides = (key: unknown, v: unknown): boolean =>
    typeof key === 'string' && v !== null && v !== undefined && isSensitiveKey(key);

  /** `callToJSON` is false for a `toJSON` result: JSON.stringify does not call it again. */
  const copy = (value: unknown, seen: Map<object, unknown>, callToJSON = true): unknown => {
    if (typeof value === 'string') return redactString(value);
    if (typeof value !== 'object' || value === null) return value;
    const done = seen.get(value);
    if (done !== undefined) return done;
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
    if (value instanceof Date) return new Date(value.getTime());
    // Boxed primitives: a copy would have their prototype but not their value, and a boxed
    // string's copy would list its characters one by one (each too short to be masked).
    if (value instanceof String) return redactString(value.valueOf());
    if (value instanceof Number || value instanceof Boolean) return value.valueOf();
    if (value instanceof RegExp) return maskedRegExp(redactString(value.source), value.flags);
    if (value instanceof URLSearchParams) return new URLSearchParams(redactString(String(value)));
    // Other built-ins keep their state in internal slots a copy cannot have (a Promise, a
    // WeakMap): passed on as they are; JSON shows none of it.
    if (!(value instanceof Error) && isOpaqueBuiltin(value)) return value;
    if (callToJSON && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
      const json = callSafely(() => (value as { toJSON(key: string): unknown }).toJSON(''));
      if (json.ok && json.value !== value) {
        // A result that refers back to `value` is a cycle JSON.stringify rejects; hide it.
        seen.set(value, marker);
        const out = copy(json.value, seen, false);
        seen.set(value, out);
        return out;
      }
    }
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      seen.set(value, out);
      for (const item of value) out.push(copy(item, seen));
      return out;
    }
    if (value instanceof Map) {
      const out = new Map<unknown, unknown>();
      seen.set(value, out);
      for (const [k, v] of value) out.set(copy(k, seen), hides(k, v) ? marker : copy(v, seen));
      return out;
    }
    if (value instanceof Set) {
      const out = new Set<unknown>();
      seen.set(value, out);
      for (const item of value) out.add(copy(item, seen));
      return out;
    }
    const proto = Object.getPrototypeOf(value) as object | null;
    const out = Object.create(proto) as Record<PropertyKey, unknown>;
    seen.set(value, out);
    const source = value as Record<PropertyKey, unknown>;
    if (proto === Object.prototype || proto === null) {
      // Plain objects, the common case in logs: enumerable own keys, read like JSON does.
      for (const key of Object.keys(source)) {
        let v: unknown;
        try {
          v = source[key];
        } catch {
          continue; // a throwing getter: skipped
        }
        define(out, redactString(key), hides(key, v) ? marker : copy(v, seen), true);
      }
      for (const sym of Object.getOwnPropertySymbols(source)) {
        if (Object.prototype.propertyIsEnumerable.call(source, sym)) {
          let v: unknown;
          try {
            v = source[sym];
          } catch {
            continue; // a throwing getter: skipped
          }
          define(out, sym, copy(v, seen), true);
        }
      }
      return out;
    }
    const isError = value instanceof Error;
    for (const key of Reflect.ownKeys(value)) {
      const desc = Object.getOwnPropertyDescriptor(value, key);
      // Errors keep their non-enumerable message, stack and cause; others' are skipped.
      if (desc === undefined || (!desc.enumerable && !isError)) continue;
      let v: unknown;
      try {
        v = 'value' in desc ? desc.value : Reflect.get(value, key);
      } catch {
        continue;
      }
      const name = typeof key === 'string' ? redactString(key) : key;
      define(out, name, hides(key, v) ? marker : copy(v, seen), desc.enumerable === true);
    }
    return out;
  };

  return {
    marker,
    redactString,
    redactObject: <T>(obj: T): T => copy(obj, new Map()) as T,
  };
}

/** A RegExp of a masked source; the marker may not be valid pattern syntax (`***`): escaped. */
function maskedRegExp(source: string, flags: string): RegExp {
  try {
    return new RegExp(source, flags);
  } catch {
    return new RegExp(source.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'), flags);
  }
}

/** Built-ins whose state lives in internal slots, which a property-by-property copy loses. */
const OPAQUE: readonly (abstract new (...args: never[]) => unknown)[] = [
  Promise,
  WeakMap,
  WeakSet,
  WeakRef,
  ...(typeof FinalizationRegistry === 'function' ? [FinalizationRegistry] : []),
];

function isOpaqueBuiltin(value: object): boolean {
  return OPAQUE.some((C) => value instanceof C);
}

/** Runs a `toJSON` of foreign code; a throwing one is treated as absent. */
function callSafely(f: () => unknown): { ok: boolean; value?: unknown } {
  try {
    return { ok: true, value: f() };
  } catch {
    return { ok: false };
  }
}

/** Sets a property; an own `__proto__` key stays data instead of setting the prototype. */
function define(
  out: Record<PropertyKey, unknown>,
  key: PropertyKey,
  value: unknown,
  enumerable: boolean,
): void {
  if (enumerable && key !== '__proto__') out[key] = value;
  else Object.defineProperty(out, key, { value, enumerable, writable: true, configurable: true });
}

/**
 * The union of two span lists as sorted, disjoint spans: overlapping spans merge into one,
 * spans that only touch stay apart (the rule of `Automaton.scan`).
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
