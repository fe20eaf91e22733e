/**
 * The vault's envelope format, version 1 (specified in docs/format.md, vectors in
 * test/vectors/envelope-v1.json).
 *
 * Three sealed objects, all AES-256-GCM with a 1-byte format version in front:
 *
 *   sealed value    = 0x01 || nonce(12) || ct(len(value)) || tag(16)   under the data key (DEK)
 *   wrapped DEK     = 0x01 || nonce(12) || ct(32)         || tag(16)   under a KEK  (61 bytes)
 *   sealed KEK      = 0x01 || nonce(12) || ct(32)         || tag(16)   under the master key
 *
 * Associated data (ASCII labels, fields joined by 0x00; the grammar of paths, environments
 * and key ids forbids 0x00, so the encoding is unambiguous):
 *
 *   value AAD = "coffer/value/v1" 0x00 path 0x00 env 0x00 decimal(version)
 *   DEK AAD   = "coffer/dek/v1"   0x00 kekId 0x00 path 0x00 env 0x00 decimal(version)
 *   KEK AAD   = "coffer/kek/v1"   0x00 kekId
 *
 * So a value or a wrapped key copied to another path, environment, version or key id fails
 * to open. The format byte lets later versions be added; v1 stays readable forever.
 *
 * Each secret version gets its own random 256-bit DEK, used for exactly one encryption, so
 * the random GCM nonce can never repeat under a DEK. KEK rotation re-wraps DEKs and never
 * touches sealed values. This module does no I/O.
 */
import { randomBytes } from 'node:crypto';
import { CofferError } from '../errors.js';
import { KEY_BYTES, NONCE_BYTES, openAesGcm, sealAesGcm, TAG_BYTES } from './aead.js';

export const FORMAT_V1 = 0x01;
/** Length of a v1 wrapped DEK or sealed KEK. */
export const WRAPPED_KEY_BYTES: number = 1 + NONCE_BYTES + KEY_BYTES + TAG_BYTES;

/** Where a sealed value lives; bound into both AADs. */
export interface SecretSlot {
  path: string;
  env: string;
  version: number;
}

function join(fields: readonly string[]): Buffer {
  return Buffer.from(fields.join('\u0000'), 'utf8');
}

export function valueAad(slot: SecretSlot): Buffer {
  return join(['coffer/value/v1', slot.path, slot.env, String(slot.version)]);
}

export function dekAad(kekId: string, slot: SecretSlot): Buffer {
  return join(['coffer/dek/v1', kekId, slot.path, slot.env, String(slot.version)]);
}

export function kekAad(kekId: string): Buffer {
  return join(['coffer/kek/v1', kekId]);
}

function withVersion(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = FORMAT_V1;
  body.copy(out, 1);
  return out;
}

function stripVersion(sealed: Uint8Array, what: string): Uint8Array {
  if (sealed.length === 0) {
    throw new CofferError('INTEGRITY_FAILURE', `the ${what} is empty`);
  }
  if (sealed[0] !== FORMAT_V1) {
    throw new CofferError(
      'UNSUPPORTED_FORMAT',
      `the ${what} has format version ${sealed[0]}, this coffer reads version ${FORMAT_V1}`,
    );
  }
  return sealed.subarray(1);
}

/** Returns a fresh random 256-bit data key. */
export function generateDataKey(): Uint8Array {
  return new Uint8Array(randomBytes(KEY_BYTES));
}

/** Seals a UTF-8 value under a data key; the result opens only at the same slot. */
export function sealValue(
  dek: Uint8Array,
  plaintext: Uint8Array,
  slot: SecretSlot,
  nonce?: Uint8Array,
): Buffer {
  return withVersion(sealAesGcm(dek, plaintext, valueAad(slot), nonce));
}

/** Opens a sealed value. Throws INTEGRITY_FAILURE or UNSUPPORTED_FORMAT. */
export function openValue(dek: Uint8Array, sealed: Uint8Array, slot: SecretSlot): Buffer {
  return openAesGcm(dek, stripVersion(sealed, 'sealed value'), valueAad(slot));
}

/** Wraps a data key under a KEK for one slot. */
export function wrapDataKey(
  kek: Uint8Array,
  kekId: string,
  dek: Uint8Array,
  slot: SecretSlot,
  nonce?: Uint8Array,
): Buffer {
  if (dek.length !== KEY_BYTES) throw new RangeError(`data key must be ${KEY_BYTES} bytes`);
  return withVersion(sealAesGcm(kek, dek, dekAad(kekId, slot), nonce));
}

/** Unwraps a data key; fails when the KEK, key id or slot differ from wrapping time. */
export function unwrapDataKey(
  kek: Uint8Array,
  kekId: string,
  wrapped: Uint8Array,
  slot: SecretSlot,
): Uint8Array {
  if (wrapped.length !== WRAPPED_KEY_BYTES) {
    stripVersion(wrapped, 'wrapped data key');
    throw new CofferError('INTEGRITY_FAILURE', 'the wrapped data key has the wrong length');
  }
  const dek = openAesGcm(kek, stripVersion(wrapped, 'wrapped data key'), dekAad(kekId, slot));
  return new Uint8Array(dek.buffer, dek.byteOffset, dek.length);
}

/** Seals a KEK under the master key. */
export function sealKek(
  masterKey: Uint8Array,
  kekId: string,
  kek: Uint8Array,
  nonce?: Uint8Array,
): Buffer {
  if (kek.length !== KEY_BYTES)
    throw new RangeError(`key-encryption key must be ${KEY_BYTES} bytes`);
  return withVersion(sealAesGcm(masterKey, kek, kekAad(kekId), nonce));
}

/** Opens a sealed KEK. Throws INTEGRITY_FAILURE when the master key or id is wrong. */
export function openKek(masterKey: Uint8Array, kekId: string, sealed: Uint8Array): Uint8Array {
  const kek = openAesGcm(masterKey, stripVersion(sealed, 'sealed key'), kekAad(kekId));
  if (kek.length !== KEY_BYTES)
    throw new CofferError('INTEGRITY_FAILURE', 'the sealed key has the wrong length');
  return new Uint8Array(kek.buffer, kek.byteOffset, kek.length);
}

/**
 * Seals a secret value for a slot in one call: a fresh DEK, the sealed value, the wrapped DEK.
 * The DEK is wiped before returning.
 */
export function sealSecret(
  kek: Uint8Array,
  kekId: string,
  plaintext: Uint8Array,
  slot: SecretSlot,
): { wrappedDek: Buffer; ciphertext: Buffer } {
  const dek = generateDataKey();
  try {
    return {
      wrappedDek: wrapDataKey(kek, kekId, dek, slot),
      ciphertext: sealValue(dek, plaintext, slot),
    };
  } finally {
    dek.fill(0);
  }
}

/** Opens a secret sealed by `sealSecret`. */
export function openSecret(
  kek: Uint8Array,
  kekId: string,
  wrappedDek: Uint8Array,
  ciphertext: Uint8Array,
  slot: SecretSlot,
): Buffer {
  const dek = unwrapDataKey(kek, kekId, wrappedDek, slot);
  try {
    return openValue(dek, ciphertext, slot);
  } finally {
    dek.fill(0);
  }
}

/** Re-wraps a DEK from one KEK to another without touching the sealed value. */
export function rewrapDataKey(
  from: { kek: Uint8Array; id: string },
  to: { kek: Uint8Array; id: string },
  wrapped: Uint8Array,
  slot: SecretSlot,
): Buffer {
  const dek = unwrapDataKey(from.kek, from.id, wrapped, slot);
  try {
    return wrapDataKey(to.kek, to.id, dek, slot);
  } finally {
    dek.fill(0);
  }
}
