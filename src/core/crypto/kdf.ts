/**
 * Key derivation for the master key.
 *
 * - `deriveKeyFromPassphrase`: scrypt (RFC 7914) through node:crypto. A new vault gets
 *   N = 2^18, r = 8, p = 1 (256 MiB, about 0.6 s on a 2020s laptop core), the work factor
 *   age uses for passphrases and twice what OWASP lists as scrypt's minimum (2^17). Its cost
 *   may be set lower, down to 2^14 (16 MiB; tests use it to stay fast), never below.
 *   The parameters and a 16-byte random salt are stored in the vault, so a vault keeps
 *   opening after the default changes; reading accepts 2^10..2^22, so vaults made before
 *   the floor was raised still open, and never more work than the costliest vault coffer
 *   makes (`parseStoredKdf`).
 * - `masterKeyCheck`: an HMAC-SHA256 tag of a fixed label under the master key, stored in
 *   the vault so that a wrong key is reported as "wrong master key" before any decryption.
 *   The tag reveals nothing about the key beyond allowing an offline guess check, which the
 *   sealed keyring allows anyway.
 */
import { createHmac, scryptSync, timingSafeEqual } from 'node:crypto';
import { CofferError } from '../errors.js';
import { KEY_BYTES } from './aead.js';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N; 10..22 to read, 14..22 for a new vault. */
  logN: number;
  r: number;
  p: number;
  /** base64 of the 16-byte salt. */
  salt: string;
}

/** log2(N) for a new passphrase vault. */
export const DEFAULT_SCRYPT_LOG_N = 18;
/** The lowest log2(N) a new vault may be created with (existing vaults may be lower). */
export const MIN_NEW_SCRYPT_LOG_N = 14;
/** The highest log2(N) accepted (4 GiB of memory at r = 8). */
export const MAX_SCRYPT_LOG_N = 22;
/** The r and p of every vault coffer makes (`newScryptParams`). */
export const NEW_SCRYPT_R = 8;
export const NEW_SCRYPT_P = 1;
/**
 * The most scrypt work (N * r * p) a stored `kdf` may ask for: that of the costliest vault
 * `coffer init --kdf-log-n` makes (N = 2^22, r = 8, p = 1; 4 GiB and about 13 s).
 */
export const MAX_STORED_SCRYPT_COST: number = 2 ** MAX_SCRYPT_LOG_N * NEW_SCRYPT_R * NEW_SCRYPT_P;

/**
 * The parameters stored in a vault's meta `kdf`, checked before any work: the entry cannot be
 * authenticated (it is read before the key exists), and whoever can write the vault file
 * could otherwise make every unlock derive with r = 32 and p = 16 (16 GiB of memory for
 * minutes), or with N = 2^22, r = 8, p = 2 (twice the longest coffer ever asks for). coffer
 * has only ever written r = 8, p = 1, so reading accepts r up to 8, p up to 2 and log2(N)
 * 10..22, and at most MAX_STORED_SCRYPT_COST in all.
 * Throws INTEGRITY_FAILURE for anything else, including text that does not parse.
 */
export function parseStoredKdf(text: string): ScryptParams {
  const damaged = () =>
    new CofferError(
      'INTEGRITY_FAILURE',
      "the vault's key-derivation parameters (meta kdf) are damaged or out of range: the vault was changed outside coffer",
    );
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw damaged();
  }
  const o = v as Partial<Record<keyof ScryptParams, unknown>> | null;
  const int = (x: unknown, lo: number, hi: number) =>
    Number.isInteger(x) && (x as number) >= lo && (x as number) <= hi;
  if (
    o === null ||
    typeof o !== 'object' ||
    !int(o.logN, 10, MAX_SCRYPT_LOG_N) ||
    !int(o.r, 1, NEW_SCRYPT_R) ||
    !int(o.p, 1, 2) ||
    2 ** (o.logN as number) * (o.r as number) * (o.p as number) > MAX_STORED_SCRYPT_COST ||
    typeof o.salt !== 'string' ||
    Buffer.from(o.salt, 'base64').length < 16
  ) {
    throw damaged();
  }
  return { logN: o.logN as number, r: o.r as number, p: o.p as number, salt: o.salt };
}

/** Derives a 32-byte key from a passphrase. Throws RangeError for out-of-range parameters. */
export function deriveKeyFromPassphrase(passphrase: string, params: ScryptParams): Uint8Array {
  if (typeof passphrase !== 'string') throw new TypeError('passphrase must be a string');
  const { logN, r, p } = params;
  if (!Number.isInteger(logN) || logN < 10 || logN > MAX_SCRYPT_LOG_N)
    throw new RangeError(`scrypt logN must be 10..${MAX_SCRYPT_LOG_N}`);
  if (!Number.isInteger(r) || r < 1 || r > 32) throw new RangeError('scrypt r must be 1..32');
  if (!Number.isInteger(p) || p < 1 || p > 16) throw new RangeError('scrypt p must be 1..16');
  const salt = Buffer.from(params.salt, 'base64');
  if (salt.length < 16) throw new RangeError('scrypt salt must be at least 16 bytes');
  const N = 2 ** logN;
  const maxmem = 128 * N * r * p + 64 * 1024 * 1024;
  const key = scryptSync(passphrase.normalize('NFC'), salt, KEY_BYTES, { N, r, p, maxmem });
  return new Uint8Array(key.buffer, key.byteOffset, key.length);
}

const CHECK_LABEL = 'coffer/master-key-check/v1';

/** The verifier stored in the vault for a master key (base64). */
export function masterKeyCheck(masterKey: Uint8Array): string {
  return createHmac('sha256', masterKey).update(CHECK_LABEL).digest('base64');
}

/** Constant-time comparison of `masterKey`'s verifier with the stored one. */
export function masterKeyMatches(masterKey: Uint8Array, stored: string): boolean {
  const expected = Buffer.from(stored, 'base64');
  const actual = createHmac('sha256', masterKey).update(CHECK_LABEL).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
