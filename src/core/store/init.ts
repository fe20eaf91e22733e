/**
 * Creating a vault and reading what it says about itself before it is unlocked (format
 * version, where its master key comes from, scrypt parameters for a passphrase vault).
 */
import { chainAuditRecord } from '../audit/chain.js';
import { formatHead, META_AUDIT_HEAD } from '../audit/head.js';
import { INIT_AUTHENTICATED } from '../audit/head-state.js';
import { masterKeyCheck, type ScryptParams } from '../crypto/kdf.js';
import { CofferError } from '../errors.js';
import { Keyring, META_MASTER_CHECK } from '../keys/keyring.js';
import type { Storage } from './storage.js';

export const VAULT_FORMAT = '1';

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
      if ((await tx.getMeta('format')) !== undefined) {
        throw new CofferError('ALREADY_EXISTS', `a vault already exists at ${storage.location}`, {
          hint: 'Use it as it is, or choose another location with --vault or COFFER_HOME.',
        });
      }
      await tx.setMeta('format', VAULT_FORMAT);
      await tx.setMeta('created_at', now);
      await tx.setMeta('key_source', options.keySource);
      if (options.kdf !== undefined) await tx.setMeta('kdf', JSON.stringify(options.kdf));
      await tx.setMeta(META_MASTER_CHECK, masterKeyCheck(options.masterKey));
      const kek = await keyring.create(tx, 'primary', now);
      const record = chainAuditRecord(undefined, {
        ts: now,
        actor: options.actor,
        action: 'init',
        path: null,
        env: null,
        version: null,
        outcome: 'ok',
        detail: `key source ${options.keySource}, first key ${kek.id}, ${INIT_AUTHENTICATED}`,
      });
      await tx.appendAudit(record);
      await tx.setMeta(
        META_AUDIT_HEAD,
        formatHead(keyring.subkey('audit-head'), record.seq, record.hash),
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
    const format = await tx.getMeta('format');
    if (format === undefined) {
      throw new CofferError('VAULT_NOT_FOUND', `${storage.location} is not an initialised vault`);
    }
    if (format !== VAULT_FORMAT) {
      throw new CofferError(
        'UNSUPPORTED_FORMAT',
        `the vault has format ${format}; this coffer reads ${VAULT_FORMAT}`,
      );
    }
    const kdf = await tx.getMeta('kdf');
    return {
      format,
      keySource: ((await tx.getMeta('key_source')) ?? 'key') as KeySource,
      kdf: kdf === undefined ? undefined : (JSON.parse(kdf) as ScryptParams),
      createdAt: (await tx.getMeta('created_at')) ?? '',
    };
  });
}
