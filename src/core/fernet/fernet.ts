/**
 * Fernet tokens (https://github.com/fernet/spec/blob/master/Spec.md), byte-compatible with
 * Python `cryptography`'s `Fernet` (https://cryptography.io/en/latest/fernet/):
 *
 *     token = base64url(0x80 || timestamp(8, big-endian seconds) || iv(16)
 *                       || AES-128-CBC-PKCS7(ciphertext) || HMAC-SHA256(all previous bytes))
 *
 * The key is 32 bytes, written as url-safe base64 with padding (44 characters): the FIRST 16
 * bytes are the HMAC signing key, the LAST 16 bytes the AES encryption key.
 *
 * What this module deliberately does differently from Python `cryptography` 48:
 * - Tokens and keys must be canonical url-safe base64 with `=` padding. Python silently drops
 *   characters outside the base64 alphabets (whitespace, `%`), also accepts `+` and `/`, and
 *   accepts non-zero unused bits in the last character, so one token has many spellings. Here
 *   a token has exactly one spelling, so changing any character makes it invalid. Every token
 *   Python (or any spec encoder) produces is canonical, so interoperability is unaffected.
 * - The HMAC is checked before the timestamp is looked at (Python checks the TTL first); the
 *   accepted set is the same, but nothing acts on unauthenticated bytes.
 * Same as Python: time checks run only when a `ttl` is given. Then a token older than `ttl`
 * seconds, or stamped more than 60 s in the future (clock skew), is invalid.
 *
 * Not done here: key storage, key rotation policy, streaming. See multi-fernet.ts for
 * decrypting with several keys and re-encrypting under a new one.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { CofferError } from '../errors.js';

/** Bytes in a decoded Fernet key: 16 signing + 16 encryption. */
export const FERNET_KEY_BYTES = 32;
/** How far in the future (seconds) a token's timestamp may be when a TTL is checked. */
export const FERNET_MAX_CLOCK_SKEW = 60;

const VERSION = 0x80;
const IV_BYTES = 16;
const HMAC_BYTES = 32;
const BLOCK = 16;
const HEADER_BYTES = 1 + 8 + IV_BYTES;
/** version + timestamp + iv + one cipher block (PKCS7 always pads) + hmac. */
const MIN_TOKEN_BYTES = HEADER_BYTES + BLOCK + HMAC_BYTES;
// 43 alphabet characters then `=`; the 43rd character carries 2 unused bits, which must be 0.
const KEY_SHAPE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]=$/;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]*={0,2}$/;

/** Options for `fernetEncrypt`. Both exist for conformance tests and key rotation. */
export interface FernetEncryptOptions {
  /** Timestamp to write, in whole Unix seconds (default: the current time). */
  now?: number;
  /** 16-byte IV. Never pass one outside tests: a fresh random IV is required for security. */
  iv?: Uint8Array;
}

/** Options for `fernetDecrypt`. */
export interface FernetDecryptOptions {
  /** Maximum token age in seconds. Without it, the timestamp is not checked at all. */
  ttl?: number;
  /** The current time in whole Unix seconds (default: the clock); used only with `ttl`. */
  now?: number;
}

/** A decoded key: wipe with `wipeFernetKey` when done. */
export interface FernetKeyBytes {
  signing: Buffer;
  encryption: Buffer;
}

/**
 * Returns a new random key as Python's `Fernet.generate_key()` does: url-safe base64 with
 * padding of 32 bytes from the OS CSPRNG (44 characters). The string is key material.
 */
export function generateFernetKey(): string {
  const raw = randomBytes(FERNET_KEY_BYTES);
  const key = encodeBase64Url(raw);
  raw.fill(0);
  return key;
}

/**
 * Decodes a key into its two 16-byte halves. Throws INVALID_ARGUMENT (never containing the
 * key) unless `key` is the 44-character canonical url-safe base64 form of 32 bytes.
 */
export function decodeFernetKey(key: string): FernetKeyBytes {
  if (typeof key !== 'string' || !KEY_SHAPE.test(key)) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      'invalid Fernet key: expected 44 characters of url-safe base64 encoding 32 bytes',
      { hint: 'Generate one with generateFernetKey() or Python Fernet.generate_key().' },
    );
  }
  // Two views of one buffer: wiping both halves wipes every decoded byte.
  const raw = Buffer.from(key, 'base64url');
  return { signing: raw.subarray(0, 16), encryption: raw.subarray(16, FERNET_KEY_BYTES) };
}

/** Zeroes both halves of a decoded key. */
export function wipeFernetKey(key: FernetKeyBytes): void {
  key.signing.fill(0);
  key.encryption.fill(0);
}

/**
 * Encrypts `data` (a string is encoded as UTF-8) into a Fernet token.
 *
 * Security preconditions: `key` is a Fernet key (INVALID_ARGUMENT otherwise, see
 * `decodeFernetKey`). The IV is 16 random bytes per call unless `options.iv` is given; a fixed
 * or repeated IV is only for test vectors. The token reveals the plaintext length (rounded up
 * to 16 bytes) and the creation time; it is authenticated but not bound to any context.
 */
export function fernetEncrypt(
  key: string,
  data: Uint8Array | string,
  options: FernetEncryptOptions = {},
): string {
  const now = checkSeconds(options.now, 'now') ?? currentSeconds();
  const iv = options.iv ?? randomBytes(IV_BYTES);
  if (!(iv instanceof Uint8Array) || iv.length !== IV_BYTES) {
    throw new CofferError('INVALID_ARGUMENT', `Fernet IV must be ${IV_BYTES} bytes`);
  }
  const plaintext = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (!(plaintext instanceof Uint8Array)) {
    throw new CofferError('INVALID_ARGUMENT', 'Fernet data must be a string or a Uint8Array');
  }
  const k = decodeFernetKey(key);
  try {
    return encodeBase64Url(sealWithKey(k, plaintext, BigInt(now), iv));
  } finally {
    wipeFernetKey(k);
    if (typeof data === 'string') plaintext.fill(0);
  }
}

/**
 * Decrypts a Fernet token and returns the plaintext. Every invalid token (bad encoding, wrong
 * version byte, wrong length, bad HMAC, bad padding, expired, too far in the future) raises the
 * same INTEGRITY_FAILURE, which never says which check failed.
 *
 * Security preconditions: `key` is a Fernet key (INVALID_ARGUMENT otherwise). The HMAC is
 * verified in constant time before anything is decrypted. Without `ttl` an old token stays
 * valid forever, and a captured token can be replayed; pass `ttl` if that matters.
 */
export function fernetDecrypt(
  key: string,
  token: string,
  options: FernetDecryptOptions = {},
): Buffer {
  const limits = checkTimeOptions(options);
  const k = decodeFernetKey(key);
  try {
    return openWithKey(k, decodeToken(token), limits);
  } finally {
    wipeFernetKey(k);
  }
}

/** Resolved TTL limits, or undefined when the timestamp is not checked. */
export interface FernetTimeLimits {
  ttl: bigint;
  now: bigint;
}

/** Validates `ttl`/`now` (INVALID_ARGUMENT) and resolves the clock. */
export function checkTimeOptions(options: FernetDecryptOptions): FernetTimeLimits | undefined {
  const ttl = checkSeconds(options.ttl, 'ttl');
  const now = checkSeconds(options.now, 'now');
  if (ttl === undefined) return undefined;
  return { ttl: BigInt(ttl), now: BigInt(now ?? currentSeconds()) };
}

/**
 * Decodes a token's outer layer: canonical url-safe base64, version byte, length. Throws the
 * opaque INTEGRITY_FAILURE. Nothing in the result is authenticated yet.
 */
export function decodeToken(token: string): Buffer {
  if (typeof token !== 'string' || token.length % 4 !== 0 || !TOKEN_SHAPE.test(token)) {
    throw invalidToken();
  }
  const data = Buffer.from(token, 'base64url');
  // Re-encoding rejects non-zero unused bits and misplaced padding: one spelling per token.
  if (encodeBase64Url(data) !== token) throw invalidToken();
  if (data.length < MIN_TOKEN_BYTES || (data.length - HEADER_BYTES - HMAC_BYTES) % BLOCK !== 0) {
    throw invalidToken();
  }
  if (data[0] !== VERSION) throw invalidToken();
  return data;
}

/** Builds the raw token bytes. `iv` must be 16 bytes and fresh for each call. */
export function sealWithKey(
  key: FernetKeyBytes,
  plaintext: Uint8Array,
  timestamp: bigint,
  iv: Uint8Array,
): Buffer {
  const cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const out = Buffer.alloc(HEADER_BYTES + body.length + HMAC_BYTES);
  out[0] = VERSION;
  out.writeBigUInt64BE(timestamp, 1);
  out.set(iv, 9);
  out.set(body, HEADER_BYTES);
  const macStart = HEADER_BYTES + body.length;
  out.set(createHmac('sha256', key.signing).update(out.subarray(0, macStart)).digest(), macStart);
  return out;
}

/**
 * Verifies and decrypts raw token bytes from `decodeToken`: HMAC first (constant time), then
 * the TTL and clock skew when `limits` is given, then AES-CBC and padding.
 */
export function openWithKey(
  key: FernetKeyBytes,
  data: Buffer,
  limits: FernetTimeLimits | undefined,
): Buffer {
  const macStart = data.length - HMAC_BYTES;
  const expected = createHmac('sha256', key.signing).update(data.subarray(0, macStart)).digest();
  if (!timingSafeEqual(expected, data.subarray(macStart))) throw invalidToken();
  if (limits !== undefined) {
    const timestamp = data.readBigUInt64BE(1);
    if (timestamp + limits.ttl < limits.now) throw invalidToken();
    if (limits.now + BigInt(FERNET_MAX_CLOCK_SKEW) < timestamp) throw invalidToken();
  }
  const decipher = createDecipheriv('aes-128-cbc', key.encryption, data.subarray(9, HEADER_BYTES));
  const head = decipher.update(data.subarray(HEADER_BYTES, macStart));
  let tail: Buffer;
  try {
    tail = decipher.final();
  } catch {
    // Bad padding under a valid HMAC: the token was made wrongly. Wipe the partial output.
    head.fill(0);
    throw invalidToken();
  }
  const out = Buffer.concat([head, tail]);
  head.fill(0);
  tail.fill(0);
  return out;
}

/** The one error every invalid token raises. */
export function invalidToken(): CofferError {
  return new CofferError('INTEGRITY_FAILURE', 'invalid Fernet token', {
    hint: 'The token is malformed, was changed, was made with another key, or has expired.',
  });
}

/** url-safe base64 with `=` padding, as Python's `base64.urlsafe_b64encode` writes it. */
export function encodeBase64Url(bytes: Buffer): string {
  return bytes.toString('base64').replaceAll('+', '-').replaceAll('/', '_');
}

function currentSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function checkSeconds(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `Fernet ${name} must be a whole number of seconds >= 0`,
    );
  }
  return value;
}
