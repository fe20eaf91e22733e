/**
 * pino integration: hooks that pass everything a pino logger writes through a `Redactor`.
 * pino is not a dependency of this module: the hook shapes are described by a local interface
 * that matches pino's `hooks.logMethod` and `hooks.streamWrite` (https://getpino.io, API,
 * `hooks`).
 *
 * Usage:
 * ```ts
 * import pino from 'pino';
 * const redactor = createRedactor({ values: secrets, patterns: true });
 * const log = pino({ hooks: pinoRedactHooks(redactor) });
 * log.info({ user, password }, 'login with %s', token); // password and token never appear
 * log.child({ apiKey }).error(err); // nor the key, nor a value in err.message or err.stack
 * ```
 * What each hook covers:
 * - `logMethod`: the object arguments of every log call (the merging object, Errors, objects
 *   for `%j` and `%o`), copied with sensitive keys and known values hidden before pino
 *   serializes them; a value inside an object that `%j` writes into the message would
 *   otherwise be escaped twice and no longer match.
 * - `streamWrite`: the finished JSON line, which also holds what the first hook does not
 *   see: the message after interpolation (so `'Bearer %s'` with a token is caught),
 *   `child()` bindings (pino does not pass them through `formatters.bindings`), `mixin`
 *   output, `msgPrefix` and custom serializers. Known values are found as they appear inside
 *   JSON (escaped) and patterns are masked; a line that still has a sensitive key with a
 *   visible value is parsed, redacted as an object and serialized again.
 *
 * Not covered: a sensitive key whose name is broken up by punctuation inside a child binding
 * (`to_ken`); values in a format pino is told to write other than JSON. pino's own `redact`
 * paths option still works beside these hooks.
 */
import { isSensitiveKey, type Redactor } from './redact.js';

/** The part of pino's `LoggerOptions['hooks']` this module fills. */
export interface PinoRedactHooks {
  logMethod(
    this: unknown,
    args: unknown[],
    method: (this: unknown, ...args: unknown[]) => unknown,
    level: number,
  ): void;
  streamWrite(line: string): string;
}

/**
 * A cheap test run first: each key `isSensitiveKey` accepts contains one of these words,
 * unless punctuation splits the word itself.
 */
const MAY_HOLD_SENSITIVE_KEY =
  /pass|pwd|secret|token|key|auth|credential|cookie|session|signature|dsn|connection/i;

/** One JSON string; matched from the start of a line, it walks the line's strings in order. */
const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;

/**
 * Whether the JSON text has a sensitive key whose value is neither `hidden` (the marker as
 * a JSON string) nor null. Most lines have none, or only keys the first hook already hid, and
 * then need not be parsed.
 */
function hasExposedSensitiveKey(json: string, hidden: string): boolean {
  JSON_STRING.lastIndex = 0;
  for (let m = JSON_STRING.exec(json); m !== null; m = JSON_STRING.exec(json)) {
    let i = JSON_STRING.lastIndex;
    while (json[i] === ' ') i++;
    if (json[i] !== ':' || !isSensitiveKey(m[0])) continue;
    do i++;
    while (json[i] === ' ');
    const value = json.startsWith(hidden, i) ? hidden : json.startsWith('null', i) ? 'null' : '';
    const next = json[i + value.length];
    if (value === '' || (next !== ',' && next !== '}')) return true;
  }
  return false;
}

/**
 * Builds pino `hooks` that redact everything a logger writes through `redactor`.
 * @throws RangeError if the redactor's marker would need escaping inside a JSON string (it is
 *   written into JSON lines as it is).
 */
export function pinoRedactHooks(redactor: Redactor): PinoRedactHooks {
  const hidden = JSON.stringify(redactor.marker);
  if (hidden !== `"${redactor.marker}"`) {
    throw new RangeError('a marker for pino must not contain quotes, backslashes or controls');
  }
  return {
    logMethod(args, method) {
      // Strings are left to streamWrite, which sees them after interpolation, joined with
      // the format string. Objects are copied here (sensitive keys hidden) where pino
      // serializes them: the merging object, and the arguments of %j, %o, %O. Those of %s,
      // %d, %i, %f are turned into text by pino with their own methods (a copy has no
      // internal state for them to read), and that text goes through streamWrite too.
      const out = [...args];
      let at = 0;
      // pino reads the message from the second argument when the first is an object, null
      // or undefined.
      if (typeof out[0] === 'object' || out[0] === undefined) {
        out[0] = safeCopy(redactor, out[0]);
        at = 1;
      }
      const format = out[at];
      if (typeof format === 'string') {
        let k = at + 1;
        // As pino's formatter reads it: every `%` and the character after it takes an argument
        // (an unknown one too), except `%%`.
        for (const m of format.matchAll(/%([\s\S])/g)) {
          if (m[1] === '%') continue;
          if (k >= out.length) break;
          if (m[1] === 'j' || m[1] === 'o' || m[1] === 'O') out[k] = safeCopy(redactor, out[k]);
          k++;
        }
      }
      method.apply(this, out);
    },
    streamWrite(line) {
      const masked = redactor.redactString(line);
      if (!MAY_HOLD_SENSITIVE_KEY.test(masked) || !hasExposedSensitiveKey(masked, hidden)) {
        return masked;
      }
      const body = masked.trimEnd();
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return masked; // not JSON (a custom format): values and patterns are masked already
      }
      return JSON.stringify(redactor.redactObject(parsed)) + masked.slice(body.length);
    },
  };
}

/** `value` with sensitive keys hidden, or `value` itself when it cannot be copied. */
function safeCopy(redactor: Redactor, value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  try {
    return redactor.redactObject(value);
  } catch {
    return value; // its text is still masked by streamWrite
  }
}
