/**
 * Fernet with several keys, as Python `cryptography`'s `MultiFernet`
 * (https://cryptography.io/en/latest/fernet/#cryptography.fernet.MultiFernet): decrypt with
 * whichever key fits, and rotate a token to the first (newest) key, keeping its timestamp.
 *
 * Not done here: choosing or storing keys. Trying the keys one by one lets a timing observer
 * learn which position matched (not the key itself).
 */
import { randomBytes } from 'node:crypto';
import { CofferError } from '../errors.js';
import {
  checkTimeOptions,
  decodeFernetKey,
  decodeToken,
  encodeBase64Url,
  type FernetDecryptOptions,
  type FernetKeyBytes,
  type FernetTimeLimits,
  invalidToken,
  openWithKey,
  sealWithKey,
  wipeFernetKey,
} from './fernet.js';

/**
 * Decrypts `token` with the first of `keys` whose HMAC verifies, as `MultiFernet.decrypt`.
 * Same errors and TTL rules as `fernetDecrypt`: INVALID_ARGUMENT if `keys` is empty or any key
 * is malformed (checked before any token work), one opaque INTEGRITY_FAILURE otherwise.
 */
export function fernetDecryptAny(
  keys: readonly string[],
  token: string,
  options: FernetDecryptOptions = {},
): Buffer {
  const limits = checkTimeOptions(options);
  return withKeys(keys, (decoded) => openAny(decoded, decodeToken(token), limits));
}

/**
 * Re-encrypts `token` under `keys[0]` with a fresh random IV, keeping the original timestamp,
 * as `MultiFernet.rotate`. Like Python, no TTL applies: an old token rotates, and keeps its
 * age. Throws as `fernetDecryptAny` when no key opens the token.
 */
export function fernetRotate(keys: readonly string[], token: string): string {
  return withKeys(keys, (decoded) => {
    const data = decodeToken(token);
    const plaintext = openAny(decoded, data, undefined);
    try {
      const timestamp = data.readBigUInt64BE(1);
      const sealed = sealWithKey(decoded[0]!, plaintext, timestamp, randomBytes(16));
      return encodeBase64Url(sealed);
    } finally {
      plaintext.fill(0);
    }
  });
}

function openAny(
  keys: readonly FernetKeyBytes[],
  data: Buffer,
  limits: FernetTimeLimits | undefined,
): Buffer {
  for (const key of keys) {
    try {
      return openWithKey(key, data, limits);
    } catch (err) {
      // Wrong key (or an invalid token): try the next one; all failures look the same.
      if (!(err instanceof CofferError)) throw err;
    }
  }
  throw invalidToken();
}

function withKeys<T>(keys: readonly string[], run: (decoded: FernetKeyBytes[]) => T): T {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new CofferError('INVALID_ARGUMENT', 'Fernet key list must not be empty');
  }
  const decoded: FernetKeyBytes[] = [];
  try {
    for (const [i, key] of keys.entries()) {
      try {
        decoded.push(decodeFernetKey(key));
      } catch (err) {
        throw new CofferError(
          'INVALID_ARGUMENT',
          `invalid Fernet key at position ${i + 1} of ${keys.length}: expected 44 characters of url-safe base64 encoding 32 bytes`,
          { cause: err },
        );
      }
    }
    return run(decoded);
  } finally {
    for (const key of decoded) wipeFernetKey(key);
  }
}
