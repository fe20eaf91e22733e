/**
 * Random secret values: API keys, passwords, UUIDs, Fernet and JWT signing keys. Every value
 * comes from the OS CSPRNG through node:crypto (`randomBytes`, `randomInt`, `randomUUID`);
 * nothing here is seeded or deterministic.
 *
 * Encodings:
 * - `base64`: RFC 4648 section 4 with `=` padding (`openssl rand -base64 N`).
 * - `hex`: lowercase, two characters per byte.
 * - `urlsafe`, `jwt`: RFC 4648 section 5 without padding (Python `secrets.token_urlsafe`);
 *   `jwt` defaults to 64 bytes, enough for an HS512 key (RFC 7518 section 3.2).
 * - `alnum`: `[A-Za-z0-9]`, each character uniform (about 5.95 bits each).
 * - `password`: `[A-Za-z0-9]` plus `PASSWORD_SYMBOLS`, with at least one character of each of
 *   the four classes, uniform over all such strings (whole-string rejection sampling).
 * - `uuid`: RFC 9562 version 4 (122 random bits).
 * - `fernet`: 32 random bytes as url-safe base64 with padding (Python `Fernet.generate_key`).
 *
 * Characters are chosen with `randomInt`, which rejects out-of-range draws, so no character is
 * more likely than another (a plain `byte % n` would favour the first `256 % n` characters).
 *
 * Not done here: storing the secret, checking strength of user-chosen values. The returned
 * string is secret; JavaScript strings cannot be wiped, so keep it no longer than needed.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { generateFernetKey } from '../fernet/fernet.js';
import { type GeneratorSpec, resolveGeneratorSpec } from './spec.js';

export const UPPERCASE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const LOWERCASE = 'abcdefghijklmnopqrstuvwxyz';
export const DIGITS = '0123456789';
/** `[A-Za-z0-9]`, the `alnum` alphabet. */
export const ALNUM_ALPHABET: string = UPPERCASE + LOWERCASE + DIGITS;

/**
 * Symbols used in passwords: `- _ . , + =`. Each is literal, unquoted, in a `.env` file, in
 * POSIX shells (no quoting, expansion, globbing, history, tilde or brace meaning: so no quotes,
 * backslash, `$`, `#`, backtick, space, `!`, `*`, `?`, `[]`, `{}`, `~`, `&`, `|`, `;`, `<>`,
 * `()`, `^`), and in the password part of a connection URL (no `@`, `:`, `/`, `%`, `?`).
 */
export const PASSWORD_SYMBOLS = '-_.,+=';
/** The full `password` alphabet (68 characters). */
export const PASSWORD_ALPHABET: string = ALNUM_ALPHABET + PASSWORD_SYMBOLS;
const PASSWORD_CLASSES = [UPPERCASE, LOWERCASE, DIGITS, PASSWORD_SYMBOLS] as const;

/**
 * Generates one secret as `spec` describes (see the module header for each kind's format).
 *
 * Security preconditions: the output is only as strong as its size; sizes under 16 output
 * characters are refused unless `allowWeak: true`, sizes over 4096 always. Throws
 * CofferError INVALID_ARGUMENT for an invalid spec, before drawing any randomness.
 *
 * @example
 * ```ts
 * generateSecret({ kind: 'password', length: 24 }); // e.g. 'q2Z-8fK,u0+Tm.x4Rb_W9aeJ'
 * generateSecret({ kind: 'hex', bytes: 16 });       // 32 hex characters
 * ```
 */
export function generateSecret(spec: GeneratorSpec): string {
  const { kind, size } = resolveGeneratorSpec(spec);
  switch (kind) {
    case 'base64':
      return encodeRandom(size, (b) => b.toString('base64'));
    case 'hex':
      return encodeRandom(size, (b) => b.toString('hex'));
    case 'urlsafe':
    case 'jwt':
      return encodeRandom(size, (b) => b.toString('base64url'));
    case 'alnum':
      return pickChars(ALNUM_ALPHABET, size);
    case 'password':
      return generatePassword(size);
    case 'uuid':
      return randomUUID();
    case 'fernet':
      return generateFernetKey();
    case 'keyring':
      // A coffer/envelope keyring of one key: what COFFER_DATA_KEYS holds at first.
      return `k1:${encodeRandom(32, (b) => b.toString('base64'))}`;
  }
}

function encodeRandom(bytes: number, encode: (b: Buffer) => string): string {
  const raw = randomBytes(bytes);
  const out = encode(raw);
  raw.fill(0);
  return out;
}

/** `length` characters, each drawn uniformly and independently from `alphabet`. */
function pickChars(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/**
 * Draws whole passwords uniformly from the alphabet until one contains every class. This keeps
 * the result uniform over all valid passwords (placing one character per class and shuffling
 * would not be). Expected draws: about 22 at length 4, about 1.15 at length 24.
 */
function generatePassword(length: number): string {
  for (;;) {
    const candidate = pickChars(PASSWORD_ALPHABET, length);
    if (PASSWORD_CLASSES.every((set) => hasAny(candidate, set))) return candidate;
  }
}

function hasAny(text: string, set: string): boolean {
  for (const c of text) if (set.includes(c)) return true;
  return false;
}
