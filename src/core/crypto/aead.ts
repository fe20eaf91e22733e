/**
 * AES-256-GCM (NIST SP 800-38D) through node:crypto, in the one layout coffer uses:
 * `nonce(12) || ciphertext || tag(16)`.
 *
 * Security preconditions:
 * - `key` is exactly 32 bytes (RangeError otherwise). Keys stay in Uint8Array, never strings.
 * - The nonce is 96 random bits from the OS CSPRNG on every call. Random nonces are safe for
 *   up to 2^32 encryptions under one key; coffer uses a fresh data key per secret version and
 *   wraps far fewer than 2^32 data keys under one key-encryption key.
 * - The tag is the full 128 bits. Any change to nonce, ciphertext, tag or associated data
 *   makes `openAesGcm` throw one opaque INTEGRITY_FAILURE: it never says which part failed
 *   and never returns unauthenticated bytes.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CofferError } from '../errors.js';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** Bytes added to a plaintext by `sealAesGcm`. */
export const AEAD_OVERHEAD: number = NONCE_BYTES + TAG_BYTES;

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) throw new TypeError('key must be a Uint8Array');
  if (key.length !== KEY_BYTES) throw new RangeError(`key must be ${KEY_BYTES} bytes`);
}

/**
 * Encrypts `plaintext` under `key`, binding `aad`. Returns `nonce || ciphertext || tag`.
 * `nonce` may be given only by conformance tests that need fixed output.
 */
export function sealAesGcm(
  key: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  nonce: Uint8Array = randomBytes(NONCE_BYTES),
): Buffer {
  checkKey(key);
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes`);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const out = Buffer.allocUnsafe(NONCE_BYTES + plaintext.length + TAG_BYTES);
  out.set(nonce, 0);
  let offset = NONCE_BYTES;
  const body = cipher.update(plaintext);
  out.set(body, offset);
  offset += body.length;
  const final = cipher.final();
  out.set(final, offset);
  offset += final.length;
  out.set(cipher.getAuthTag(), offset);
  return out;
}

/** Decrypts `nonce || ciphertext || tag`; throws INTEGRITY_FAILURE on any mismatch. */
export function openAesGcm(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  checkKey(key);
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw integrityFailure();
  const opened = openAesGcmParts(
    key,
    sealed.subarray(0, NONCE_BYTES),
    sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES),
    sealed.subarray(sealed.length - TAG_BYTES),
    aad,
  );
  if (opened === undefined) throw integrityFailure();
  return opened;
}

/**
 * The AES-256-GCM open of every coffer format, on parts already split (and `key` already
 * checked by the caller): the plaintext, or undefined when the tag does not verify, after
 * wiping what was decrypted before the check. The caller throws its own opaque error.
 */
export function openAesGcmParts(
  key: Uint8Array,
  nonce: Uint8Array,
  body: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array,
): Buffer | undefined {
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const out = decipher.update(body);
  try {
    const final = decipher.final();
    return final.length === 0 ? out : Buffer.concat([out, final]);
  } catch {
    // Unauthenticated: wipe it, and say nothing about which part failed.
    out.fill(0);
    return undefined;
  }
}

function integrityFailure(): CofferError {
  return new CofferError('INTEGRITY_FAILURE', 'decryption failed: the data is not authentic');
}
