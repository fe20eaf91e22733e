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
import { afterEach, describe, expect, it, vi } from 'vitest';
import { insertOlderToken } from '../../../test/helpers/older-token.js';
import { dropPostgresSchema, throwAwaySchema } from '../../../test/helpers/storage-factories.js';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { openPostgresStorage } from '../../storage/postgres/postgres-storage.js';
import { openMemoryStorage, openSqliteStorage } from '../../storage/sqlite/sqlite-storage.js';
import { PathScope } from '../access/globs.js';
import { AccessPolicy } from '../access/policy.js';
import { createToken, listTokens, tokenUnusable } from '../access/tokens.js';
import { verifyAudit } from '../audit/log.js';
import { CofferError, type ErrorCode } from '../errors.js';
import type { Storage, TokenCapability } from '../store/storage.js';
import { Vault } from '../store/vault.js';
import { decryptBackup } from './age.js';
import { checkSnapshot, createBackup, restoreSnapshot, takeSnapshot } from './backup.js';
import { decodeSnapshot, encodeSnapshot, type Snapshot } from './format.js';

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

let olderTokens = 0;

/**
 * Stores a token as an earlier coffer could (no caps on its globs), through the vault's
 * authenticated transaction: a valid row MAC and a `token_create` record.
 */
async function olderToken(
  t: TestVault,
  name: string,
  allow: readonly string[],
  o: { revokedAt?: string; caps?: TokenCapability[] } = {},
): Promise<void> {
  await insertOlderToken(t.vault, {
    name,
    allow,
    ...o,
    createdAt: new Date(Date.UTC(2025, 5, 1) + 1000 * olderTokens++).toISOString(),
  });
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

  it('an older vault with tokens whose globs are beyond the caps backs up, verifies with a warning and restores them revoked', async () => {
    // An earlier coffer took any number of globs of any length: its vault holds such tokens
    // legitimately, and its backups restore, with those tokens revoked and nothing else lost.
    const { t, values } = await vaultWithContent();
    const revokedBefore = '2026-01-02T03:04:05.000Z';
    await olderToken(
      t,
      'ci-wide',
      Array.from({ length: 70 }, (_, i) => `project/p${i}/*`),
    );
    await olderToken(t, 'ci-deep', ['project/**/app/x/*']);
    await olderToken(t, 'old-gone', ['**', ...Array.from({ length: 64 }, () => 'meta/*/*')], {
      revokedAt: revokedBefore,
    });
    const created = await createBackup(t.vault, { encryption: FAST });
    expect(created.tokensBeyondCaps.map((x) => [x.name, x.revokedBefore])).toEqual([
      ['ci-wide', false],
      ['ci-deep', false],
      ['old-gone', true],
    ]);
    const reasons = created.tokensBeyondCaps.map((x) => x.reason);
    expect(reasons[0]).toBe('70 path globs: a policy holds at most 64');
    expect(reasons[1]).toContain('has 4 segments besides **');
    expect(reasons[2]).toBe('65 path globs: a policy holds at most 64');
    const s = await snapshotOf(created.file);

    const checked = await checkSnapshot(s, t.masterKey, newSqlite().storage);
    expect(checked.ok).toBe(true);
    expect(checked.failures).toEqual([]);
    expect(checked.tokensBeyondCaps.map((x) => x.name)).toEqual(['ci-wide', 'ci-deep', 'old-gone']);

    // Into PostgreSQL when COFFER_TEST_DATABASE_URL is set: the revocations are its writes too.
    const target = PG_URL ? await newPostgres(PG_URL) : newSqlite().storage;
    const at = new Date('2026-12-01T00:00:00.000Z');
    const r = await restoreSnapshot(s, t.masterKey, target, {
      actor: 'test:restore',
      target: target.location,
      now: () => at,
    });
    expect(r.check.ok).toBe(true);
    expect(r.tokensRevoked.map((x) => [x.name, x.revokedAt, x.revokedBefore])).toEqual([
      ['ci-wide', at.toISOString(), false],
      ['ci-deep', at.toISOString(), false],
      ['old-gone', revokedBefore, true],
    ]);

    // Every audit record of the backup is there, then the restore and one revocation per
    // token it revoked, as `coffer token revoke` records it.
    const audit = await target.transaction('read', (tx) =>
      tx.listAudit({ afterSeq: 0, limit: 1e6 }),
    );
    const original = s.audit.length;
    expect(audit.slice(0, original).map((a) => a.hash)).toEqual(s.audit.map((a) => a.hash));
    const tail = audit.slice(original).map((a) => [a.action, a.actor, a.outcome]);
    expect(tail.slice(-3)).toEqual([
      ['vault.restore', 'test:restore', 'ok'],
      ['token_revoke', 'test:restore', 'ok'],
      ['token_revoke', 'test:restore', 'ok'],
    ]);
    expect(audit.at(-2)?.detail).toMatch(/^ci-wide: restored revoked, .*70 path globs/);
    expect(audit.at(-1)?.detail).toMatch(/^ci-deep: restored revoked, .*4 segments besides \*\*/);

    // The restored store passes the vault's own checks: every row MAC (the revoked rows carry
    // a MAC over their new content), every value, the audit chain with the revocations in it.
    const vault = new Vault(target, t.masterKey, { actor: 'test:read' });
    cleanups.push(() => vault.close());
    const report = await vault.verify();
    expect(report.ok).toBe(true);
    expect(report.rowFailures ?? []).toEqual([]);
    expect(r.check.checked).toBe(s.header.counts.versions);
    const after = await contents(target, t.masterKey);
    const before = await contents(t.storage, t.masterKey);
    // Every value readable before is readable after (a deleted secret's are not, in either).
    expect(after.values).toEqual(before.values);
    for (const [k, v] of before.values) expect(values.get(k)).toBe(v);
    expect(after.secrets).toEqual(before.secrets);
    expect(after.audit.ok).toBe(true);
    const listed = new Map((await listTokens(vault)).map((x) => [x.name, x.revokedAt]));
    expect(Object.fromEntries(listed)).toEqual({
      deploy: null,
      'ci-wide': at.toISOString(),
      'ci-deep': at.toISOString(),
      'old-gone': revokedBefore,
    });
    // A backup of the restored vault names them again, all revoked now, and restores as is.
    const again = await createBackup(vault, { encryption: FAST });
    expect(again.tokensBeyondCaps.every((x) => x.revokedBefore)).toBe(true);
    const r2 = await restoreInto(newSqlite().storage, await snapshotOf(again.file), t.masterKey);
    expect(r2.tokensRevoked.map((x) => x.revokedAt)).toEqual([
      at.toISOString(),
      at.toISOString(),
      revokedBefore,
    ]);
  });

  it('a crafted backup with 200 globs of 400 characters restores with its token revoked, compiling and matching none', async () => {
    // Someone holding the master key writes the token row itself, with a valid row MAC, and
    // takes an ordinary backup: the file decrypts and every MAC checks.
    const { t } = await vaultWithContent();
    const costly = Array.from({ length: 200 }, (_, i) => `**/${'*a'.repeat(200)}${i}*/**/x`);
    expect(costly.every((g) => g.length >= 400)).toBe(true);
    await olderToken(t, 'slow-lister', costly, { caps: ['list', 'admin'] });
    const s = await snapshotOf((await createBackup(t.vault, { encryption: FAST })).file);
    const counted = [
      vi.spyOn(PathScope.prototype, 'covers'),
      vi.spyOn(PathScope.prototype, 'allows'),
      vi.spyOn(PathScope.prototype, 'mayContain'),
      vi.spyOn(AccessPolicy.prototype, 'grantRefusal'),
    ];
    cleanups.push(() => {
      for (const c of counted) c.mockRestore();
    });
    const checked = await checkSnapshot(s, t.masterKey, newSqlite().storage);
    expect(checked.ok).toBe(true);
    expect(checked.tokensBeyondCaps.map((x) => x.name)).toEqual(['slow-lister']);
    const target = newSqlite().storage;
    const r = await restoreInto(target, s, t.masterKey);
    expect(r.tokensRevoked.map((x) => [x.name, x.revokedBefore, x.reason])).toEqual([
      ['slow-lister', false, '200 path globs: a policy holds at most 64'],
    ]);
    // No glob of it was compiled into a scope, matched or compared: the count said enough.
    for (const c of counted) expect(c).not.toHaveBeenCalled();
    // The restored token is revoked (its globs as stored), and refused when presented.
    const vault = new Vault(target, t.masterKey, { actor: 'test:read' });
    cleanups.push(() => vault.close());
    const row = await vault.readTransaction((tx) => tx.getTokenByName('slow-lister'));
    expect(row?.revokedAt).not.toBeNull();
    expect(row?.allow).toEqual(costly);
    expect(tokenUnusable(row!, new Date())).toBe('revoked');
  });

  it('still refuses a backup holding a glob no coffer ever stored, naming the token and restoring nothing', async () => {
    const { t } = await vaultWithContent();
    await olderToken(t, 'forged', ['project/app/*', 'PROJECT/app/*']);
    const s = await snapshotOf((await createBackup(t.vault, { encryption: FAST })).file);
    const checked = await rejection(
      checkSnapshot(s, t.masterKey, newSqlite().storage),
      'BACKUP_INVALID',
    );
    expect(checked.message).toContain('the token "forged"');
    const target = newSqlite().storage;
    const err = await rejection(restoreInto(target, s, t.masterKey), 'BACKUP_INVALID');
    expect(err.message).toContain('the backup holds the token "forged" with a path glob');
    expect(err.message.length).toBeLessThan(400);
    const left = await target.transaction('read', async (tx) => ({
      meta: (await tx.listMeta()).length,
      tokens: (await tx.listTokens()).length,
      audit: await tx.lastAudit(),
    }));
    expect(left).toEqual({ meta: 0, tokens: 0, audit: undefined });
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

describe("a backup header's text", () => {
  it('names a store location holding control characters escaped, so the restore records it readable', async () => {
    const { t } = await vaultWithContent();
    const odd = '/srv/\u001b]52;c;ZWNobyBwd25lZA==\u0007\r\u001b[2K.db';
    const storage: Storage = {
      kind: t.storage.kind,
      location: odd,
      transaction: (mode, fn, options) => t.storage.transaction(mode, fn, options),
      close: async () => undefined,
    };
    const s = decodeSnapshot(encodeSnapshot(await takeSnapshot(storage)));
    expect(s.header.source.location).toBe('/srv/\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x0d\\x1b[2K.db');
    const target = newSqlite().storage;
    await restoreInto(target, s, t.masterKey);
    const vault = new Vault(target, t.masterKey, { actor: 'test:read' });
    cleanups.push(() => vault.close());
    const records = await vault.readTransaction((tx) =>
      tx.listAudit({ descending: true, limit: 5 }),
    );
    const restore = records.find((r) => r.action === 'vault.restore');
    expect(restore?.detail).toContain(`from a backup of sqlite ${s.header.source.location} taken`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is tested.
    expect(restore?.detail).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('a crafted header (a location with terminal sequences, a createdAt that is no time) is refused before any restore', async () => {
    const { t } = await vaultWithContent();
    const s = await snapshotOf((await createBackup(t.vault, { encryption: FAST })).file);
    for (const header of [
      { ...s.header, source: { kind: 'sqlite', location: 'x\u001b[1A\u001b[2K' } },
      { ...s.header, createdAt: `${'9'.repeat(5000)}` },
    ]) {
      const err = await rejection(
        (async () => decodeSnapshot(encodeSnapshot({ ...s, header })))(),
        'BACKUP_INVALID',
      );
      expect(err.message).toMatch(
        /^the backup is damaged: line 1: (source.location|createdAt) is not/,
      );
      expect(err.message.length).toBeLessThan(200);
    }
  });
});
