/**
 * Secret generators (node:crypto CSPRNG only), the compact spec form stored in metadata, and
 * generate-if-absent (ensure.ts: the vault through an interface; no file I/O).
 */
export {
  type EnsureRequest,
  type EnsureResult,
  ensureGenerated,
  type GenerateVault,
  valueConflict,
} from './ensure.js';
export {
  ALNUM_ALPHABET,
  generateSecret,
  PASSWORD_ALPHABET,
  PASSWORD_SYMBOLS,
} from './generate.js';
export {
  type ByteKind,
  type CharKind,
  DEFAULT_SIZES,
  type FixedKind,
  formatGeneratorSpec,
  type GeneratorKind,
  type GeneratorSpec,
  isFixedKind,
  isGeneratorKind,
  KINDS,
  MAX_SECRET_SIZE,
  MIN_PASSWORD_LENGTH,
  MIN_SECRET_CHARS,
  minimumSize,
  parseGeneratorSpec,
  resolveGeneratorSpec,
} from './spec.js';
