/**
 * A passphrase vault's `kdf` entry cannot be authenticated (it is read before the key exists):
 * whoever can write the vault sets it to ask every unlock for more scrypt work than any vault
 * coffer makes. The unlock (readMasterKey, which every command opening a vault goes through)
 * refuses such an entry as INTEGRITY_FAILURE before scrypt runs at all: node:crypto's scrypt
 * is replaced by a wrapper that counts its calls and refuses any costlier than 2^14 * 8, so
 * no test here ever runs the huge derivation, even against a coffer without the refusal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deriveKeyFromPassphrase, MIN_NEW_SCRYPT_LOG_N } from '../core/crypto/kdf.js';
import { initVault } from '../core/store/init.js';
import { openSqliteStorage, type SqliteStorage } from '../storage/sqlite/sqlite-storage.js';
import { readMasterKey } from './context.js';

const scryptCalls = vi.hoisted(() => ({ n: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  const scryptSync: typeof real.scryptSync = (...args) => {
    scryptCalls.n++;
    // Never the costly derivation itself, should the refusal be missing.
    const { N = 0, r = 0, p = 0 } = args[3] ?? {};
    if (N * r * p > 2 ** 14 * 8) throw new Error('test guard: a costly scrypt was asked for');
    return real.scryptSync(...args);
  };
  return { ...real, default: { ...real, scryptSync }, scryptSync };
});

const PASS = 'correct horse battery staple';
const SALT = Buffer.alloc(16, 7).toString('base64');
const dirs: string[] = [];
const stores: SqliteStorage[] = [];

/** A passphrase vault made as `coffer init --passphrase --kdf-log-n 14` makes it. */
async function passphraseVault(): Promise<SqliteStorage> {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-kdf-'));
  dirs.push(dir);
  const storage = openSqliteStorage(join(dir, 'vault.db'), { create: true });
  stores.push(storage);
  const kdf = { logN: MIN_NEW_SCRYPT_LOG_N, r: 8, p: 1, salt: SALT };
  const masterKey = deriveKeyFromPassphrase(PASS, kdf);
  await initVault(storage, { masterKey, keySource: 'passphrase', kdf, actor: 'test' });
  return storage;
}

const setKdf = (storage: SqliteStorage, kdf: unknown) =>
  storage.transaction('write', (tx) => tx.setMeta('kdf', JSON.stringify(kdf)));

beforeEach(() => {
  process.env.COFFER_PASSPHRASE = PASS;
  delete process.env.COFFER_MASTER_KEY;
});
afterEach(() => {
  delete process.env.COFFER_PASSPHRASE;
});
afterAll(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('unlocking a passphrase vault whose kdf entry was edited', () => {
  it('derives with the stored parameters as coffer wrote them (the wrapper counts)', async () => {
    const storage = await passphraseVault();
    scryptCalls.n = 0;
    const key = await readMasterKey({}, storage);
    expect(key).toHaveLength(32);
    expect(scryptCalls.n).toBe(1);
  });

  it.each([
    ['r 32, p 16 (16 GiB for minutes)', { logN: 22, r: 32, p: 16, salt: SALT }],
    ['p 2 at the largest N (twice what init makes)', { logN: 22, r: 8, p: 2, salt: SALT }],
    ['r 9', { logN: 14, r: 9, p: 1, salt: SALT }],
    ['N 2^23', { logN: 23, r: 8, p: 1, salt: SALT }],
    ['N 2^40', { logN: 40, r: 8, p: 1, salt: SALT }],
    ['a fraction', { logN: 14.5, r: 8, p: 1, salt: SALT }],
    ['not JSON', '{"logN": 22'],
  ])('%s: INTEGRITY_FAILURE, and scrypt never runs', async (_name, kdf) => {
    const storage = await passphraseVault();
    if (typeof kdf === 'string') {
      await storage.transaction('write', (tx) => tx.setMeta('kdf', kdf));
    } else {
      await setKdf(storage, kdf);
    }
    scryptCalls.n = 0;
    const err = await readMasterKey({}, storage).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'INTEGRITY_FAILURE' });
    expect(String((err as Error).message)).toContain('meta kdf');
    expect(scryptCalls.n).toBe(0);
  });
});
