/**
 * Redaction: keeps secret values out of logs, errors and child-process output. Strings and
 * objects go through a `Redactor`, byte streams through the stream masker, pino loggers
 * through `pinoRedactHooks`. Every hidden value becomes one fixed marker that does not reveal
 * its length. No I/O here.
 */
export { DEFAULT_MARKER, DEFAULT_MIN_LENGTH } from './matcher.js';
export { SECRET_PATTERNS, type SecretPattern } from './patterns.js';
export {
  type PinoLogFormatters,
  type PinoLogMethodHooks,
  type PinoRedaction,
  pinoRedactHooks,
} from './pino.js';
export {
  createRedactor,
  isSensitiveKey,
  type Redactor,
  type RedactorOptions,
} from './redact.js';
export {
  createMaskingTransform,
  createStreamMasker,
  type StreamMasker,
  type StreamMaskerOptions,
} from './stream.js';
