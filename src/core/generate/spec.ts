/**
 * What a secret generator makes, as a typed `GeneratorSpec` and as a compact text form that
 * is stored in secret metadata so a value can be regenerated the same way:
 *
 *     kind[:size][:weak]      e.g.  base64:32   hex:16   password:24   uuid   fernet   keyring
 *
 * `size` is a byte count for base64/hex/urlsafe/jwt and a character count for alnum/password;
 * uuid, fernet and keyring take none (keyring: a coffer/envelope key list `k1:<base64 of 32
 * bytes>`, the COFFER_DATA_KEYS grammar, which `coffer rotate` extends with k2, k3, ...). `:weak` records that a size below the floor was allowed on
 * purpose. `formatGeneratorSpec` always writes the resolved size, so stored metadata does not
 * depend on today's defaults.
 *
 * Limits: a secret must be at least `MIN_SECRET_CHARS` characters unless `allowWeak` is set,
 * and at most `MAX_SECRET_SIZE` bytes or characters in any case.
 */
import { CofferError } from '../errors.js';

/** Every generator kind, in documentation order. */
export const KINDS: readonly GeneratorKind[] = Object.freeze([
  'base64',
  'hex',
  'urlsafe',
  'alnum',
  'password',
  'uuid',
  'fernet',
  'keyring',
  'jwt',
]);

/** Kinds sized in random bytes. */
export type ByteKind = 'base64' | 'hex' | 'urlsafe' | 'jwt';
/** Kinds sized in output characters. */
export type CharKind = 'alnum' | 'password';
/** Kinds with a fixed format. */
export type FixedKind = 'uuid' | 'fernet' | 'keyring';
export type GeneratorKind = ByteKind | CharKind | FixedKind;

/** A request for one secret. Omitted sizes use `DEFAULT_SIZES`. */
export type GeneratorSpec =
  | { kind: ByteKind; bytes?: number; allowWeak?: boolean }
  | { kind: CharKind; length?: number; allowWeak?: boolean }
  | { kind: FixedKind };

/** A spec with its size resolved and checked; `size` is 0 for fixed kinds. */
export interface ResolvedSpec {
  kind: GeneratorKind;
  size: number;
  weak: boolean;
}

/** Default `bytes` / `length` per sized kind. */
export const DEFAULT_SIZES: Readonly<Record<ByteKind | CharKind, number>> = Object.freeze({
  base64: 32,
  hex: 32,
  urlsafe: 32,
  jwt: 64,
  alnum: 32,
  password: 24,
});

/** Shortest output (characters) allowed without `allowWeak`. */
export const MIN_SECRET_CHARS = 16;
/** Largest `bytes` or `length` accepted, even with `allowWeak`. */
export const MAX_SECRET_SIZE = 4096;
/** Passwords need room for one character of each of the four classes. */
export const MIN_PASSWORD_LENGTH = 4;

const BYTE_KINDS: ReadonlySet<string> = new Set<ByteKind>(['base64', 'hex', 'urlsafe', 'jwt']);
const CHAR_KINDS: ReadonlySet<string> = new Set<CharKind>(['alnum', 'password']);

export function isGeneratorKind(value: unknown): value is GeneratorKind {
  return typeof value === 'string' && (KINDS as readonly string[]).includes(value);
}

/** Characters of output for `size` (bytes or characters) of `kind`. */
export function outputLength(kind: GeneratorKind, size: number): number {
  switch (kind) {
    case 'base64':
      return 4 * Math.ceil(size / 3);
    case 'hex':
      return 2 * size;
    case 'urlsafe':
    case 'jwt':
      return Math.ceil((4 * size) / 3);
    case 'alnum':
    case 'password':
      return size;
    case 'uuid':
      return 36;
    case 'fernet':
      return 44;
    case 'keyring':
      return 47;
  }
}

/** The kinds that take no size (uuid, fernet, keyring). */
export function isFixedKind(kind: GeneratorKind): kind is FixedKind {
  return kind === 'uuid' || kind === 'fernet' || kind === 'keyring';
}

/**
 * The smallest `bytes` (or `length`) of `kind` that gives `MIN_SECRET_CHARS` characters:
 * base64 12, hex 8, urlsafe and jwt 12, alnum and password 16.
 */
export function minimumSize(kind: ByteKind | CharKind): number {
  let size = 1;
  while (outputLength(kind, size) < MIN_SECRET_CHARS) size++;
  return size;
}

/**
 * Checks a spec (which may come from untyped input such as JSON) and resolves its size.
 * Throws INVALID_ARGUMENT for an unknown kind, a size field that does not belong to the kind,
 * a size that is not a whole number in range, or a weak size without `allowWeak`.
 */
export function resolveGeneratorSpec(spec: GeneratorSpec): ResolvedSpec {
  if (typeof spec !== 'object' || spec === null || !isGeneratorKind(spec.kind)) {
    throw invalid(`unknown generator kind; expected one of ${KINDS.join(', ')}`);
  }
  const { kind } = spec;
  const fields = spec as { bytes?: unknown; length?: unknown; allowWeak?: unknown };
  const isBytes = BYTE_KINDS.has(kind);
  const isChars = CHAR_KINDS.has(kind);
  if (fields.bytes !== undefined && !isBytes) {
    throw invalid(`generator ${kind} takes ${isChars ? 'length' : 'no size'}, not bytes`);
  }
  if (fields.length !== undefined && !isChars) {
    throw invalid(`generator ${kind} takes ${isBytes ? 'bytes' : 'no size'}, not length`);
  }
  if (fields.allowWeak !== undefined && typeof fields.allowWeak !== 'boolean') {
    throw invalid('allowWeak must be a boolean');
  }
  if (!isBytes && !isChars) return { kind, size: 0, weak: false };

  const field = isBytes ? 'bytes' : 'length';
  const given = isBytes ? fields.bytes : fields.length;
  const size = given ?? DEFAULT_SIZES[kind as ByteKind | CharKind];
  const min = kind === 'password' ? MIN_PASSWORD_LENGTH : 1;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < min) {
    throw invalid(`generator ${kind}: ${field} must be a whole number >= ${min}`);
  }
  if (size > MAX_SECRET_SIZE) {
    throw invalid(`generator ${kind}: ${field} must be at most ${MAX_SECRET_SIZE}`);
  }
  const weak = outputLength(kind, size) < MIN_SECRET_CHARS;
  if (weak && fields.allowWeak !== true) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `generator ${kind}: ${field} ${size} gives fewer than ${MIN_SECRET_CHARS} characters`,
      { hint: `Use ${field} ${minimumSize(kind as ByteKind | CharKind)} or more.` },
    );
  }
  return { kind, size, weak };
}

/**
 * Parses the compact form `kind[:size][:weak]` (lowercase, no spaces, size in decimal without
 * leading zeros). Throws INVALID_ARGUMENT as `resolveGeneratorSpec` does; the message never
 * repeats the text.
 */
export function parseGeneratorSpec(text: string): GeneratorSpec {
  if (typeof text !== 'string' || text.length > 40) throw invalid('invalid generator spec');
  const m = /^([a-z0-9]+)(?::([1-9][0-9]*))?(:weak)?$/.exec(text);
  if (m === null) throw invalid('invalid generator spec; expected kind[:size], e.g. base64:32');
  const [, kind, sizeText, weakText] = m;
  if (!isGeneratorKind(kind)) {
    throw invalid(`unknown generator kind; expected one of ${KINDS.join(', ')}`);
  }
  const size = sizeText === undefined ? undefined : Number(sizeText);
  let spec: GeneratorSpec;
  if (BYTE_KINDS.has(kind)) {
    spec = { kind: kind as ByteKind, ...(size === undefined ? {} : { bytes: size }) };
  } else if (CHAR_KINDS.has(kind)) {
    spec = { kind: kind as CharKind, ...(size === undefined ? {} : { length: size }) };
  } else {
    if (size !== undefined || weakText !== undefined) {
      throw invalid(`generator ${kind} takes no size`);
    }
    spec = { kind: kind as FixedKind };
  }
  if (weakText !== undefined) spec = { ...spec, allowWeak: true } as GeneratorSpec;
  let resolved: ResolvedSpec;
  try {
    resolved = resolveGeneratorSpec(spec);
  } catch (err) {
    // In the text form a shorter secret is allowed on purpose with the `:weak` suffix.
    if (err instanceof CofferError && /gives fewer than/.test(err.message)) {
      throw new CofferError('INVALID_ARGUMENT', err.message, {
        hint: `${err.hint} To allow a shorter one on purpose, end the spec with ":weak".`,
      });
    }
    throw err;
  }
  if (weakText !== undefined && !resolved.weak) {
    throw invalid(`generator ${kind}: ":weak" is only for sizes below the minimum`);
  }
  return spec;
}

/**
 * Writes the canonical compact form with the size resolved (`{kind:'password'}` gives
 * `password:24`); `:weak` appears only when the size is below the floor. Throws as
 * `resolveGeneratorSpec` for an invalid spec.
 */
export function formatGeneratorSpec(spec: GeneratorSpec): string {
  const { kind, size, weak } = resolveGeneratorSpec(spec);
  if (size === 0) return kind;
  return `${kind}:${size}${weak ? ':weak' : ''}`;
}

function invalid(message: string): CofferError {
  return new CofferError('INVALID_ARGUMENT', message);
}
