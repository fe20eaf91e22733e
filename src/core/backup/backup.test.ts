/**
 * Backup, check and restore through the core API: the round trip SQLite -> backup ->
 * PostgreSQL -> backup -> SQLite (PostgreSQL when COFFER_TEST_DATABASE_URL is set), the
 * refusals (flipped byte, truncated file, wrong passphrase, wrong master key, non-empty
 * target), and a backup taken while ten writers run.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { dropPostgresSchema, throwAwaySchema } from '../../../test/helpers/storage-factories.js';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { openPostgresStorage } from '../../storage/postgres/postgres-storage.js';
import { openMemoryStorage, openSqliteStorage } from '../../storage/sqlite/sqlite-storage.js';
import { createToken, listTokens } from '../access/tokens.js';
import { verifyAudit } from '../audit/log.js';
import { CofferError, type ErrorCode } from '../errors.js';
import type { Storage } from '../store/storage.js';
import { Vault } from '../store/vault.js';
import { decryptBackup } from './age.js';
import { checkSnapshot, createBackup, restoreSnapshot } from './backup.js';
import { decodeSnapshot, type Snapshot } from './format.js';

const PASS = 'correct horse battery staple';
const FAST = { passphrase: PASS, workFactor: 14 };
const DESCRIPTION = 'Database URL of the billing service';
const PG_URL = process.env.COFFER_TEST_DATABASE_URL;

if (!PG_URL) {
  console.warn(
    'SKIPPED the PostgreSQL legs of the backup round trip: set COFFER_TEST_DATABASE_URL to run them',
  );
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function vaultWithContent(): Promise<{ t: TestVault; values: Map<string, string> }> {
  const t = await makeTestVault('test:backup');
  cleanups.push(async () => {
    t.vault.close();
    await t.storage.close();
    rmSync(t.dir, { recursive: true, force: true });
  });
  const values = new Map<string, string>();
  for (let i = 0; i < 5; i++) {
    for (let v = 1; v <= 3; v++) {
      const value = `value-${i}-${v}-${randomBytes(6).toString('hex')}`;
      const path = `project/billing/key_${i}`;
      await t.vault.set(path, 'dev', value, { description: DESCRIPTION });
      values.set(`${path} dev ${v}`, value);
    }
  }
  await t.vault.set('meta/cloudflare/api_token', 'prod', 'cf-token', {
    description: 'Cloudflare token for DNS updates',
    metadata: { localOnly: true, tier: 2, rotation: '90d' },
  });
  values.set('meta/cloudflare/api_token prod 1', 'cf-token');
  await t.vault.delete('project/billing/key_4', 'dev');
  await createToken(t.vault, { name: 'deploy', allow: ['project/billing/*'], caps: ['read'] });
  return { t, values };
}

async function snapshotOf(file: Uint8Array, passphrase = PASS): Promise<Snapshot> {
  return decodeSnapshot(await decryptBackup(file, { passphrase }));
}

async function rejection(p: Promise<unknown>, code: ErrorCode): Promise<CofferError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(CofferError);
  expect((err as CofferError).code, (err as Error).message).toBe(code);
  return err as CofferError;
}

function newSqlite(): { storage: Storage; file: string } {
  const dir = join(
    process.env.TMPDIR ?? '/tmp',
    `coffer-restore-${randomBytes(6).toString('hex')}`,
  );
  const file = join(dir, 'vault.db');
  const storage = openSqliteStorage(file, { create: true });
  cleanups.push(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { storage, file };
}

async function newPostgres(url: string): Promise<Storage> {
  const schema = throwAwaySchema('coffer_backup');
  const storage = await openPostgresStorage(url, { schema, create: true, poolSize: 2 });
  cleanups.push(async () => {
    await storage.close();
    await dropPostgresSchema(url, schema);
  });
  return storage;
}

async function restoreInto(target: Storage, s: Snapshot, masterKey: Uint8Array) {
  return restoreSnapshot(s, masterKey, target, {
    actor: 'test:restore',
    target: target.location,
  });
}

/** Every version's value, the tokens and the audit chain of a store, for comparison. */
async function contents(storage: Storage, masterKey: Uint8Array) {
  const vault = new Vault(storage, masterKey, { actor: 'test:read' });
  try {
    const values = new Map<string, string>();
    const secrets = await vault.readTransaction((tx) => tx.listSecrets({ includeDeleted: true }));
    for (const s of secrets) {
      for (const h of (await vault.history(s.path, s.env)).versions) {
        const v = await vault.get(s.path, s.env, { version: h.version }).catch(() => undefined);
        if (v !== undefined) values.set(`${s.path} ${s.env} ${h.version}`, v.value);
      }
    }
    const tokens = (await listTokens(vault)).map((t) => t.name);
    const audit = await verifyAudit(vault);
    return { secrets: secrets.map(({ mac: _m, ...s }) => s), values, tokens, audit };
  } finally {
    vault.close();
  }
}

describe('backup and restore', () => {
  it('round trip: SQLite -> backup -> PostgreSQL -> backup -> SQLite keeps secrets, versions, tokens and the audit chain', async () => {
    const { t, values } = await vaultWithContent();
    const first = await createBackup(t.vault, { encryption: FAST });
    const s1 = await snapshotOf(first.file);
    expect(s1.header.counts).toMatchObject({ secrets: 6, versions: 16, tokens: 1, keks: 1 });

    let middle: Storage;
    if (PG_URL) {
      middle = await newPostgres(PG_URL);
    } else {
      middle = newSqlite().storage;
    }
    await restoreInto(middle, s1, t.masterKey);
    const middleVault = new Vault(middle, t.masterKey, { actor: 'test:backup' });
    cleanups.push(() => middleVault.close());
    const second = await createBackup(middleVault, { encryption: FAST });
    const s2 = await snapshotOf(second.file);
    expect(s2.header.source.kind).toBe(PG_URL ? 'postgres' : 'sqlite');

    const last = newSqlite().storage;
    await restoreInto(last, s2, t.masterKey);

    const before = await contents(t.storage, t.masterKey);
    const after = await contents(last, t.masterKey);
    expect(after.secrets).toEqual(before.secrets);
    expect(after.tokens).toEqual(['deploy']);
    // Deleted secrets keep their versions; the live ones read back exactly.
    for (const [k, v] of before.values) expect(after.values.get(k), k).toBe(v);
    for (const [k, v] of values) {
      if (!k.startsWith('project/billing/key_4')) expect(after.values.get(k), k).toBe(v);
    }
    expect(after.audit.ok).toBe(true);
    // The original chain is a prefix of the restored one, which records both restores.
    const actions = await new Vault(last, t.masterKey, { actor: 'x' }).readTransaction((tx) =>
      tx.listAudit({ limit: 10_000 }),
    );
    expect(actions.filter((r) => r.action === 'vault.restore')).toHaveLength(2);
  });

  it('a backup with its master key is checked with that key; without, a wrong key is refused', async () => {
    const { t } = await vaultWithContent();
    const kit = await createBackup(t.vault, { encryption: FAST, masterKey: t.masterKey });
    const s = await snapshotOf(kit.file);
    expect(s.masterKey).toEqual(t.masterKey);
    const scratch = openMemoryStorage();
    cleanups.push(() => scratch.close());
    const check = await checkSnapshot(s, s.masterKey!, scratch);
    expect(check).toMatchObject({ ok: true, checked: 16, failures: [] });

    const plain = await createBackup(t.vault, { encryption: FAST });
    const s2 = await snapshotOf(plain.file);
    expect(s2.masterKey).toBeUndefined();
    const other = openMemoryStorage();
    cleanups.push(() => other.close());
    await rejection(checkSnapshot(s2, new Uint8Array(randomBytes(32)), other), 'WRONG_KEY');
  });

  it('refuses a flipped byte, a truncated file and a wrong passphrase, each with a clear error', async () => {
    const { t } = await vaultWithContent();
    const { file } = await createBackup(t.vault, { encryption: FAST });
    const wrong = await rejection(snapshotOf(file, 'not the passphrase'), 'WRONG_KEY');
    expect(wrong.message).toMatch(/passphrase does not open this backup/);
    const truncated = await rejection(
      snapshotOf(file.subarray(0, file.length - 17)),
      'BACKUP_INVALID',
    );
    expect(truncated.message).toMatch(/damaged or truncated/);
    // Any byte flipped anywhere is refused (a header byte may read as a wrong passphrase).
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: file.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (i, x) => {
          const bad = new Uint8Array(file);
          bad[i]! ^= x;
          const err = await snapshotOf(bad).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(CofferError);
          expect(['BACKUP_INVALID', 'WRONG_KEY']).toContain((err as CofferError).code);
        },
      ),
      { numRuns: 25 },
    );
    // A flip well inside the payload is damage, not a wrong passphrase.
    const bad = new Uint8Array(file);
    bad[file.length - 40]! ^= 1;
    await rejection(snapshotOf(bad), 'BACKUP_INVALID');
  });

  it('restores into an empty store only', async () => {
    const { t } = await vaultWithContent();
    const s = await snapshotOf((await createBackup(t.vault, { encryption: FAST })).file);
    const target = newSqlite().storage;
    await restoreInto(target, s, t.masterKey);
    const err = await rejection(restoreInto(target, s, t.masterKey), 'ALREADY_EXISTS');
    expect(err.message).toMatch(/is not empty \(it holds an initialised vault\)/);
    // The source vault itself is not empty either.
    await rejection(restoreInto(t.storage, s, t.masterKey), 'ALREADY_EXISTS');
  });

  it('refuses a backup whose rows conflict (a duplicate version) as invalid, restoring nothing', async () => {
    const { t } = await vaultWithContent();
    const s = await snapshotOf((await createBackup(t.vault, { encryption: FAST })).file);
    const forged: Snapshot = { ...s, versions: [...s.versions, s.versions[0]!] };
    const scratch = newSqlite().storage;
    await rejection(checkSnapshot(forged, t.masterKey, scratch), 'BACKUP_INVALID');
    const target = newSqlite().storage;
    await rejection(restoreInto(target, forged, t.masterKey), 'BACKUP_INVALID');
    // The target is still empty: the right backup restores into it.
    await restoreInto(target, s, t.masterKey);
  });

  it('refuses a token whose globs a new token could not have, naming it and restoring nothing', async () => {
    // An attacker holding the master key writes the token row itself, with a valid row MAC
    // (the vault's own authenticated transaction), then takes an ordinary backup: the file
    // decrypts, every MAC checks, and only the token's globs give it away.
    const costly = Array.from({ length: 200 }, (_, i) => `**/${'*a'.repeat(400)}${i}*/**/x`);
    for (const [name, allow] of [
      ['slow-lister', costly],
      ['many-globs', Array.from({ length: 65 }, (_, i) => `project/p${i}/*`)],
    ] as const) {
      const { t } = await vaultWithContent();
      await t.vault.auditedTransaction('token_create', async (tx) => {
        await tx.insertToken({
          id: randomBytes(8).toString('hex'),
          name,
          hash: 'ab'.repeat(32),
          allow: [...allow],
          envs: [],
          caps: ['list', 'admin'],
          createdAt: new Date().toISOString(),
          expiresAt: null,
          revokedAt: name === 'many-globs' ? new Date().toISOString() : null,
        });
        return { result: undefined, detail: name };
      });
      const s = await snapshotOf((await createBackup(t.vault, { encryption: FAST })).file);
      const scratch = newSqlite().storage;
      const checked = await rejection(checkSnapshot(s, t.masterKey, scratch), 'BACKUP_INVALID');
      expect(checked.message).toContain(`the token "${name}"`);
      const target = newSqlite().storage;
      const err = await rejection(restoreInto(target, s, t.masterKey), 'BACKUP_INVALID');
      expect(err.message).toContain(`the backup holds the token "${name}" with path globs`);
      expect(err.message.length).toBeLessThan(400);
      // Nothing of it was written: the target is still empty.
      const left = await target.transaction('read', async (tx) => ({
        meta: (await tx.listMeta()).length,
        tokens: (await tx.listTokens()).length,
        audit: await tx.lastAudit(),
      }));
      expect(left).toEqual({ meta: 0, tokens: 0, audit: undefined });
    }
  });

  it('a backup taken while ten writers run restores and verifies', async () => {
    const { t } = await vaultWithContent();
    const writers: Vault[] = [];
    for (let i = 0; i < 10; i++) {
      const storage = openSqliteStorage(t.file);
      const v = new Vault(storage, t.masterKey, { actor: `test:writer-${i}` });
      writers.push(v);
      cleanups.push(async () => {
        v.close();
        await storage.close();
      });
    }
    let stop = false;
    let written = 0;
    const running = writers.map(async (v, i) => {
      for (let n = 0; !stop && n < 30; n++) {
        await v.set(`project/load/key_${i}`, 'dev', `w${i}-${n}`, { description: DESCRIPTION });
        written++;
      }
    });
    // Wait (bounded, without timing) until the writers are under way.
    for (let i = 0; i < 2000 && written < 20; i++) await new Promise((r) => setImmediate(r));
    const backups = [];
    for (let i = 0; i < 3; i++) backups.push(await createBackup(t.vault, { encryption: FAST }));
    stop = true;
    await Promise.all(running);
    expect(written).toBeGreaterThan(0);
    for (const b of backups) {
      const s = await snapshotOf(b.file);
      const r = await restoreInto(newSqlite().storage, s, t.masterKey);
      expect(r.check.ok).toBe(true);
      expect(r.check.checked).toBe(s.header.counts.versions);
    }
  });
});
