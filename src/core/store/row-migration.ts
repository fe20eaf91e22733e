/**
 * The one-time migration of a vault written before row MACs (format 1, version-1 master-key
 * check): inside the caller's write transaction, with the master key already checked, it
 * draws the vault id, MACs every keyring, secret and token row, and replaces the master-key
 * check with version 2 (store/master-check.ts) and the format with 2. From then on a row
 * without a valid MAC is refused, and nothing an attacker can write without the master key
 * brings the vault back to the state in which this migration runs.
 *
 * A vault with a version-1 check whose rows already carry MACs is refused: its check was
 * put back from an older copy to get forged rows MAC'd. What remains (a whole database
 * rolled back to a copy from before the migration) is in SECURITY.md.
 */
import { randomBytes } from 'node:crypto';
import { CofferError } from '../errors.js';
import { type Keyring, META_MASTER_CHECK } from '../keys/keyring.js';
import { RowIntegrityError } from './authenticated-tx.js';
import { META_FORMAT, ROW_MAC_FORMAT } from './formats.js';
import {
  kekFields,
  type RowMacKey,
  rowMac,
  secretFields,
  tokenFields,
  VAULT_ID_BYTES,
  writable,
} from './row-mac.js';
import type { StorageTx } from './storage.js';

/** The vault format of a vault whose rows carry MACs. */
export { ROW_MAC_FORMAT } from './formats.js';

export interface RowMigration {
  /** The vault id the MACs are bound to; the caller adopts it once the transaction commits. */
  vaultId: Uint8Array;
  keks: number;
  secrets: number;
  tokens: number;
}

/**
 * MACs every row of a legacy vault (the keyring reported `legacy` in this transaction).
 * `tx` is the raw storage transaction. The keyring is not told: if the transaction rolls
 * back the vault stays legacy, so the caller calls `keyring.adopt` after the commit.
 */
export async function migrateToRowMacs(tx: StorageTx, keyring: Keyring): Promise<RowMigration> {
  const keks = await tx.listKeks();
  const secrets = await tx.listSecrets({ includeDeleted: true });
  const tokens = await tx.listTokens();
  if ([...keks, ...secrets, ...tokens].some((r) => r.mac !== null && r.mac !== undefined)) {
    throw new CofferError(
      'INTEGRITY_FAILURE',
      "the vault's master-key check is older than its rows: it was put back from an older copy outside coffer",
    );
  }
  // A row holding what coffer never writes (current_version 2^62) is not vouched for.
  const odd = secrets.find((s) => !secretFields(s).every(writable));
  if (odd !== undefined) {
    throw new RowIntegrityError('secrets', `${odd.path.slice(0, 120)} (${odd.env.slice(0, 120)})`, {
      path: odd.path,
      env: odd.env,
    });
  }
  const vaultId = new Uint8Array(randomBytes(VAULT_ID_BYTES));
  const key: RowMacKey = { key: keyring.subkey('row-mac'), vaultId };
  for (const k of keks) await tx.updateKek(k.id, { mac: rowMac(key, 'keks', kekFields(k)) });
  for (const s of secrets) {
    await tx.updateSecret(s.path, s.env, { mac: rowMac(key, 'secrets', secretFields(s)) });
  }
  for (const t of tokens)
    await tx.updateToken(t.id, { mac: rowMac(key, 'tokens', tokenFields(t)) });
  await tx.setMeta(META_MASTER_CHECK, keyring.masterCheck(vaultId));
  await tx.setMeta(META_FORMAT, ROW_MAC_FORMAT);
  return { vaultId, keks: keks.length, secrets: secrets.length, tokens: tokens.length };
}
