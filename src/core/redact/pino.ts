/**
 * pino integration: options that pass everything a pino logger writes through a `Redactor`.
 * pino is not a dependency; the option shapes are described by local interfaces that match
 * pino's `hooks.logMethod` and `formatters.log` / `formatters.bindings`.
 *
 * Usage (spread both parts; add your own formatters after ours if needed):
 * ```ts
 * import pino from 'pino';
 * const redaction = pinoRedactHooks(createRedactor({ values: secrets, patterns: true }));
 * const log = pino({ hooks: redaction.hooks, formatters: { ...redaction.formatters } });
 * log.info({ user, password }, 'login with %s', token); // password and token never appear
 * ```
 * What each part covers:
 * - `hooks.logMethod`: every argument of every log call (the merging object, the message and
 *   its format arguments, Errors, which become redacted copies), before pino formats them.
 * - `formatters.log`: the object pino is about to serialize, which also holds the `mixin`
 *   output. It runs again over what `logMethod` already redacted; that costs a second pass
 *   but changes nothing with the default marker.
 * - `formatters.bindings`: the bindings of `logger.child({...})` and the `base` fields.
 *
 * Not covered: a pattern (a `Bearer …` header, say) split between the format string and an
 * argument, since pino interpolates after the hook; known secret values are masked either way.
 * `msgPrefix` and custom `serializers` output are not redacted. This module imports nothing
 * from pino, and it does not use `hooks.streamWrite`: in the serialized JSON line a value with
 * a quote or backslash is escaped and would no longer match.
 */
import type { Redactor } from './redact.js';

/** The part of pino's `LoggerOptions['hooks']` this module fills. */
export interface PinoLogMethodHooks {
  logMethod(
    this: unknown,
    args: unknown[],
    method: (this: unknown, ...args: unknown[]) => unknown,
    level: number,
  ): void;
}

/** The part of pino's `LoggerOptions['formatters']` this module fills. */
export interface PinoLogFormatters {
  log(object: Record<string, unknown>): Record<string, unknown>;
  bindings(bindings: Record<string, unknown>): Record<string, unknown>;
}

export interface PinoRedaction {
  hooks: PinoLogMethodHooks;
  formatters: PinoLogFormatters;
}

/** Builds pino `hooks` and `formatters` that redact everything through `redactor`. */
export function pinoRedactHooks(redactor: Redactor): PinoRedaction {
  return {
    hooks: {
      logMethod(args, method) {
        const redacted = args.map((arg) => redactor.redactObject(arg));
        method.apply(this, redacted);
      },
    },
    formatters: {
      log: (object) => redactor.redactObject(object),
      bindings: (bindings) => redactor.redactObject(bindings),
    },
  };
}
