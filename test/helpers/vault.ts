import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthenticatedTx, initVault, sealSecret, Vault } from '../../src/core/index.js';
import { Keyring } from '../../src/core/keys/keyring.js';
import { openSqliteStorage, type SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { secretRecord } from './records.js';

export interface TestVault {
  dir: string;
  file: string;
  storage: SqliteStorage;
  masterKey: Uint8Array;
  vault: Vault;
}

/** A fresh SQLite vault in a temp directory, unlocked. */
export async function makeTestVault(actor = 'test:user'): Promise<TestVault> {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-test-'));
  const file = join(dir, 'vault.db');
  const storage = openSqliteStorage(file, { create: true });
  const masterKey = new Uint8Array(randomBytes(32));
  await initVault(storage, { masterKey, keySource: 'key', actor });
  return { dir, file, storage, masterKey, vault: new Vault(storage, masterKey, { actor }) };
}

export const DESCRIPTION = 'Stripe API key for payment processing';

/**
 * Fills a vault file with `count` secrets (version 1 each) in one transaction through the
 * storage API: much faster than `count` separate `set` calls. Returns a sample of
 * path -> value (every `sampleEvery`-th secret).
 */
export async function populateVault(
  file: string,
  masterKey: Uint8Array,
  count: number,
  sampleEvery = 500,
): Promise<Map<string, string>> {
  const storage = openSqliteStorage(file, { create: true });
  const keyring = new Keyring(masterKey);
  const sample = new Map<string, string>();
  try {
    await storage.transaction('write', async (raw) => {
      await keyring.unlock(raw);
      // Rows written through it carry their MACs, as the vault's own writes do.
      const tx = new AuthenticatedTx(raw, keyring.rowMacKey());
      const kek = await keyring.primary(tx);
      const now = new Date().toISOString();
      for (let i = 0; i < count; i++) {
        const path = `project/bulk/key_${i}`;
        const value = `bulk-${i}-${randomBytes(4).toString('hex')}`;
        if (i % sampleEvery === 0) sample.set(path, value);
        const slot = { path, env: 'dev', version: 1 };
        const sealed = sealSecret(kek.key, kek.id, Buffer.from(value), slot);
        await tx.insertVersion({
          ...slot,
          kekId: kek.id,
          ...sealed,
          createdAt: now,
          actor: 'test',
        });
        await tx.insertSecret(
          secretRecord(path, 'dev', {
            description: 'Bulk test secret for the billing job',
            createdAt: now,
            updatedAt: now,
          }),
        );
      }
    });
  } finally {
    keyring.close();
    await storage.close();
  }
  return sample;
}
