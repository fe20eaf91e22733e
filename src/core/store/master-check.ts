/**
 * The vault's master-key check (meta `master_check`), in its two versions (docs/format.md):
 *
 * - version 1 (vaults written before row MACs): base64(HMAC-SHA256(master key,
 *   "coffer/master-key-check/v1")), see crypto/kdf.ts;
 * - version 2: `v2:` hex(vault id) `:` base64(HMAC-SHA256(master key,
 *   "coffer/master-key-check/v2" 0x00 vault id)), where the vault id is 16 random bytes.
 *
 * Version 2 says "every MAC'd row of this vault carries a MAC" and names the vault id the
 * row MACs are bound to. Only the master key can produce it, so an attacker who can write
 * the database cannot turn a migrated vault back into one whose rows are accepted without
 * MACs; only the migration (row-migration.ts) turns version 1 into version 2.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { masterKeyMatches } from '../crypto/kdf.js';
import { CofferError } from '../errors.js';
import { VAULT_ID_BYTES } from './row-mac.js';

const V2_LABEL = 'coffer/master-key-check/v2';
const V2 = /^v2:([0-9a-f]{32}):([A-Za-z0-9+/]{43}=)$/;

export type MasterCheck = { version: 1 } | { version: 2; vaultId: Uint8Array };

function v2Tag(masterKey: Uint8Array, vaultId: Uint8Array): Buffer {
  return createHmac('sha256', masterKey)
    .update(Buffer.concat([Buffer.from(`${V2_LABEL}\0`, 'latin1'), vaultId]))
    .digest();
}

/** The version-2 check of `masterKey` for the vault with this id. */
export function masterCheckV2(masterKey: Uint8Array, vaultId: Uint8Array): string {
  if (vaultId.length !== VAULT_ID_BYTES) throw new RangeError('a vault id is 16 bytes');
  return `v2:${Buffer.from(vaultId).toString('hex')}:${v2Tag(masterKey, vaultId).toString('base64')}`;
}

/** Checks `stored` against the master key (constant time); throws WRONG_KEY on a mismatch. */
export function readMasterCheck(masterKey: Uint8Array, stored: string): MasterCheck {
  const m = V2.exec(stored);
  if (m !== null) {
    const vaultId = new Uint8Array(Buffer.from(m[1]!, 'hex'));
    const tag = Buffer.from(m[2]!, 'base64');
    if (timingSafeEqual(tag, v2Tag(masterKey, vaultId))) return { version: 2, vaultId };
  } else if (masterKeyMatches(masterKey, stored)) {
    return { version: 1 };
  }
  throw new CofferError('WRONG_KEY', 'wrong master key for this vault');
}
