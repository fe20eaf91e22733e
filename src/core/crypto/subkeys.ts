/**
 * Subkeys of the master key, one per purpose, so that no key is used for two jobs.
 *
 *   subkey(label) = HKDF-SHA256(IKM = master key, salt = empty, info = "coffer/subkey/v1 " || label, L = 32)
 *
 * (RFC 5869, through node:crypto's hkdfSync). Labels in use (docs/format.md lists them):
 * `row-mac` (the MACs of stored rows that decide access or which value is served) and
 * `audit-head` (the MAC of the audit chain's stored head and of checkpoints) and
 * `rotation-state` (the MAC of the rotation state: grace windows, retired versions, incidents).
 *
 * Security preconditions: the master key is 32 bytes of key material (random, or scrypt
 * output); HKDF with distinct `info` strings yields independent keys. The caller owns the
 * returned bytes and wipes them when done (the Keyring caches and wipes its subkeys).
 */
import { hkdfSync } from 'node:crypto';
import { KEY_BYTES } from './aead.js';

export type SubkeyLabel = 'row-mac' | 'audit-head' | 'rotation-state' | 'secret-requests';

const INFO_PREFIX = 'coffer/subkey/v1 ';

/** Derives the 32-byte subkey for `label`. Throws RangeError for a master key of wrong size. */
export function deriveSubkey(masterKey: Uint8Array, label: SubkeyLabel): Uint8Array {
  if (!(masterKey instanceof Uint8Array) || masterKey.length !== KEY_BYTES) {
    throw new RangeError(`master key must be ${KEY_BYTES} bytes`);
  }
  return new Uint8Array(
    hkdfSync('sha256', masterKey, new Uint8Array(0), `${INFO_PREFIX}${label}`, KEY_BYTES),
  );
}
