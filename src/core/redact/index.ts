/**
 * Redaction (`coffer/redact`): keeps secret values out of logs, errors and child-process
 * output. Strings and objects go through a `Redactor`, byte streams through the stream
 * masker, pino loggers through `pinoRedactHooks`. Every hidden value becomes one fixed marker
 * that does not reveal its length. No I/O here, and nothing that needs a vault: give it the
 * values to hide.
 *
 * @example
 * ```ts
 * import { createRedactor, pinoRedactHooks } from 'coffer/redact';
 * const redactor = createRedactor({ values: [process.env.DB_PASSWORD ?? ''], patterns: true });
 * redactor.redactString(`postgres://app:${process.env.DB_PASSWORD}@db/app`);
 * // 'postgres://app:[REDACTED]@db/app'
 * const log = pino({ hooks: pinoRedactHooks(redactor) });
 * ```
 */
export { MIN_REDACTION_LENGTH, REDACTION_MARKER } from './matcher.js';
export { SECRET_PATTERNS, type SecretPattern } from './patterns.js';
export { type PinoRedactHooks, pinoRedactHooks } from './pino.js';
export {
  createRedactor,
  isSensitiveKey,
  type Redactor,
  type RedactorOptions,
} from './redact.js';
export {
  createMaskingTransform,
  createMaskingTransforms,
  createStreamMasker,
  type StreamMasker,
  type StreamMaskerOptions,
} from './stream.js';
