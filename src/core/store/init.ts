/**
 * Creating a vault and reading what it says about itself before it is unlocked (format
 * version, where its master key comes from, scrypt parameters for a passphrase vault).
 */
import { randomBytes } from 'node:crypto';
import { chainAuditRecord } from '../audit/chain.js';
import { formatHead, META_AUDIT_HEAD } from '../audit/head.js';
import { INIT_BOUND } from '../audit/head-state.js';
import { parseStoredKdf, type ScryptParams } from '../crypto/kdf.js';
import { CofferError } from '../errors.js';
import { Keyring, META_MASTER_CHECK } from '../keys/keyring.js';
import { AuthenticatedTx } from './authenticated-tx.js';
import { assertReadableFormat, META_FORMAT, VAULT_FORMAT } from './formats.js';
import { VAULT_ID_BYTES } from './row-mac.js';
import type { Storage } from './storage.js';

/** The format new vaults get (2: rows carry MACs); format 1 vaults are migrated on opening. */
export { VAULT_FORMAT } from './formats.js';

export type KeySource = 'key' | 'passphrase';

export interface VaultInfo {
  format: string;
  keySource: KeySource;
  kdf: ScryptParams | undefined;
  createdAt: string;
}

export interface InitOptions {
  masterKey: Uint8Array;
  keySource: KeySource;
  kdf?: ScryptParams | undefined;
  actor: string;
  now?: Date;
}

/** Initialises an empty store: metadata, master-key verifier, first KEK, first audit record. */
export async function initVault(
  storage: Storage,
  options: InitOptions,
): Promise<{ kekId: string }> {
  const now = (options.now ?? new Date()).toISOString();
  const keyring = new Keyring(options.masterKey);
  try {
    return await storage.transaction('write', async (tx) => {
      if ((await tx.getMeta(META_FORMAT)) !== undefined) {
        throw new CofferError('ALREADY_EXISTS', `a vault already exists at ${storage.location}`, {
          hint: 'Use it as it is, or choose another location with --vault or COFFER_HOME.',
        });
      }
      await tx.setMeta(META_FORMAT, VAULT_FORMAT);
      await tx.setMeta('created_at', now);
      await tx.setMeta('key_source', options.keySource);
      if (options.kdf !== undefined) await tx.setMeta('kdf', JSON.stringify(options.kdf));
      const vaultId = new Uint8Array(randomBytes(VAULT_ID_BYTES));
      await tx.setMeta(META_MASTER_CHECK, keyring.masterCheck(vaultId));
      keyring.adopt(vaultId);
      const kek = await keyring.create(
        new AuthenticatedTx(tx, keyring.rowMacKey()),
        'primary',
        now,
      );
      const record = chainAuditRecord(undefined, {
        ts: now,
        actor: options.actor,
        action: 'init',
        path: null,
        env: null,
        version: null,
        outcome: 'ok',
        detail: `key source ${options.keySource}, first key ${kek.id}, ${INIT_BOUND}`,
      });
      await tx.appendAudit(record);
      await tx.setMeta(
        META_AUDIT_HEAD,
        formatHead(keyring.auditHeadKey(), record.seq, record.hash),
      );
      return { kekId: kek.id };
    });
  } finally {
    keyring.close();
  }
}

/** Reads the vault's self-description without the master key. */
export async function readVaultInfo(storage: Storage): Promise<VaultInfo> {
  return storage.transaction('read', async (tx) => {
    const format = await tx.getMeta(META_FORMAT);
    if (format === undefined) {
      // init writes the format with the master-key check and the first KEK, in one
      // transaction: a store holding those without a format was changed outside coffer.
      if ((await tx.getMeta(META_MASTER_CHECK)) !== undefined || (await tx.listKeks()).length > 0) {
        throw new CofferError(
          'INTEGRITY_FAILURE',
          `the vault at ${storage.location} has keys but no format entry: it was changed outside coffer`,
        );
      }
      throw new CofferError('VAULT_NOT_FOUND', `${storage.location} is not an initialised vault`);
    }
    assertReadableFormat(format);
    const kdf = await tx.getMeta('kdf');
    return {
      format,
      keySource: ((await tx.getMeta('key_source')) ?? 'key') as KeySource,
      kdf: kdf === undefined ? undefined : parseStoredKdf(kdf),
      createdAt: (await tx.getMeta('created_at')) ?? '',
    };
  });
}
