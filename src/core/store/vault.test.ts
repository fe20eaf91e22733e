import { describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault } from '../../../test/helpers/vault.js';
import { readAudit, verifyAudit } from '../audit/log.js';
import { CofferError } from '../errors.js';
import { keyStatus, rotateKeys } from '../keys/rotate.js';
import { Vault } from './vault.js';

const PATH = 'project/consilio/stripe_api_key';

describe('vault service', () => {
  it('stores, reads back, lists, versions and verifies', async () => {
    const { vault } = await makeTestVault();
    const r1 = await vault.set(PATH, 'dev', 'sk_live_abc123xyz', { description: DESCRIPTION });
    expect(r1).toEqual({ path: PATH, env: 'dev', version: 1, created: true });
    const r2 = await vault.set(PATH, 'dev', 'sk_live_second');
    expect(r2.version).toBe(2);
    expect((await vault.get(PATH, 'dev')).value).toBe('sk_live_second');
    expect((await vault.get(PATH, 'dev', { version: 1 })).value).toBe('sk_live_abc123xyz');
    const items = await vault.list({ prefix: 'project/consilio', env: 'dev' });
    expect(items.map((i) => i.path)).toEqual([PATH]);
    expect(JSON.stringify(items)).not.toContain('sk_live');
    expect((await vault.history(PATH, 'dev')).versions.map((v) => v.version)).toEqual([1, 2]);
    expect((await vault.verify()).ok).toBe(true);
    expect((await verifyAudit(vault)).ok).toBe(true);
  });

  it('keeps environments apart', async () => {
    const { vault } = await makeTestVault();
    await vault.set(PATH, 'dev', 'dev-value-1234', { description: DESCRIPTION });
    await vault.set(PATH, 'prod', 'prod-value-1234', { description: DESCRIPTION });
    expect((await vault.get(PATH, 'dev')).value).toBe('dev-value-1234');
    expect((await vault.get(PATH, 'prod')).value).toBe('prod-value-1234');
    await expect(vault.get(PATH, 'staging')).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
  });

  it('requires a meaningful description on create', async () => {
    const { vault } = await makeTestVault();
    await expect(vault.set(PATH, 'dev', 'v')).rejects.toMatchObject({
      code: 'INVALID_DESCRIPTION',
    });
    await expect(vault.set(PATH, 'dev', 'v', { description: 'API key' })).rejects.toMatchObject({
      code: 'INVALID_DESCRIPTION',
    });
  });

  it('checkSet refuses, before any value, what set would refuse whatever the value', async () => {
    const { vault } = await makeTestVault();
    // A new secret: a description is needed, and --if-version can only be 0.
    await expect(vault.checkSet(PATH, 'dev')).rejects.toMatchObject({
      code: 'INVALID_DESCRIPTION',
      message: `a description is required to create ${PATH}`,
    });
    await expect(vault.checkSet(PATH, 'dev', { description: 'API key' })).rejects.toMatchObject({
      code: 'INVALID_DESCRIPTION',
    });
    await expect(
      vault.checkSet(PATH, 'dev', { description: DESCRIPTION, ifVersion: 1 }),
    ).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
    await vault.checkSet(PATH, 'dev', { description: DESCRIPTION, ifVersion: 0 });
    // An existing secret (deleted ones too: set revives them) needs no description.
    await vault.set(PATH, 'dev', 'v1-value', { description: DESCRIPTION });
    await vault.checkSet(PATH, 'dev');
    await vault.delete(PATH, 'dev');
    await vault.checkSet(PATH, 'dev', { ifVersion: 1 });
    await expect(vault.checkSet(PATH, 'dev', { ifVersion: 2 })).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
    });
    // Every check is audited as `check_set`, passed or refused (a description the grammar
    // refuses is not, as for a set); the set itself as `set`.
    const actions = (await readAudit(vault)).map((r) => `${r.action} ${r.outcome}`);
    expect(actions.filter((a) => /^(?:check_)?set /.test(a))).toEqual([
      'check_set invalid',
      'check_set conflict',
      'check_set ok',
      'set ok',
      'check_set ok',
      'check_set ok',
      'check_set conflict',
    ]);
  });

  it('refuses a rotation policy, tier, env-var name or generator spec outside the grammar, on set and describe', async () => {
    const { vault } = await makeTestVault();
    for (const metadata of [
      { rotation: '90 days' },
      { tier: 4 },
      { envVar: 'NOT-A-NAME' },
      { generator: 'token:32' },
    ]) {
      await expect(
        vault.set(PATH, 'dev', 'v1-value', { description: DESCRIPTION, metadata }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await vault.set(PATH, 'dev', 'v1-value', {
      description: DESCRIPTION,
      metadata: { rotation: '90d', envVar: 'STRIPE_KEY' },
    });
    await expect(vault.describe(PATH, 'dev', { rotation: 'sometimes' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect((await vault.describe(PATH, 'dev', { rotation: '1y' })).rotation).toBe('1y');
    expect((await vault.info(PATH, 'dev')).rotation).toBe('1y');
  });

  it('check-and-set refuses a stale version', async () => {
    const { vault } = await makeTestVault();
    await vault.set(PATH, 'dev', 'a', { description: DESCRIPTION, ifVersion: 0 });
    await expect(vault.set(PATH, 'dev', 'b', { ifVersion: 0 })).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
    });
    expect((await vault.set(PATH, 'dev', 'b', { ifVersion: 1 })).version).toBe(2);
  });

  it('soft-deletes and restores', async () => {
    const { vault } = await makeTestVault();
    await vault.set(PATH, 'dev', 'abc', { description: DESCRIPTION });
    await vault.delete(PATH, 'dev');
    await expect(vault.get(PATH, 'dev')).rejects.toMatchObject({ code: 'SECRET_DELETED' });
    expect(await vault.list({ env: 'dev' })).toHaveLength(0);
    await vault.restore(PATH, 'dev');
    expect((await vault.get(PATH, 'dev')).value).toBe('abc');
  });

  it('refuses values over 64 KiB and accepts exactly 64 KiB', async () => {
    const { vault } = await makeTestVault();
    await expect(
      vault.set(PATH, 'dev', 'x'.repeat(65537), { description: DESCRIPTION }),
    ).rejects.toMatchObject({
      code: 'VALUE_TOO_LARGE',
    });
    await vault.set(PATH, 'dev', 'x'.repeat(65536), { description: DESCRIPTION });
    expect((await vault.get(PATH, 'dev')).value).toHaveLength(65536);
  });

  it('refuses an unpaired surrogate (it would read back as U+FFFD) but keeps proper pairs', async () => {
    const { vault } = await makeTestVault();
    for (const bad of ['a\ud800', '\udc00b', 'x\udbff\udbffy']) {
      const err = await vault.set(PATH, 'dev', bad, { description: DESCRIPTION }).catch((e) => e);
      expect(err).toMatchObject({ code: 'INVALID_VALUE' });
      expect((err as Error).message).not.toContain(bad);
    }
    await expect(vault.get(PATH, 'dev')).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
    await vault.set(PATH, 'dev', 'emoji \u{1F511}', { description: DESCRIPTION });
    expect((await vault.get(PATH, 'dev')).value).toBe('emoji \u{1F511}');
  });

  it('reports a wrong master key as WRONG_KEY and audits the denial', async () => {
    const t = await makeTestVault();
    await t.vault.set(PATH, 'dev', 'abc', { description: DESCRIPTION });
    const wrong = new Vault(t.storage, new Uint8Array(32).fill(7), { actor: 'cli:mallory' });
    const err = await wrong.get(PATH, 'dev').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).code).toBe('WRONG_KEY');
    const last = t.storage.database
      .prepare('SELECT * FROM audit ORDER BY seq DESC LIMIT 1')
      .get() as Record<string, unknown>;
    expect(last).toMatchObject({
      actor: 'cli:mallory',
      action: 'get',
      outcome: 'denied',
      path: PATH,
    });
    expect((await verifyAudit(t.vault)).ok).toBe(true);
  });

  it('rotates the key-encryption key and retires the old one', async () => {
    const { vault } = await makeTestVault();
    for (let i = 0; i < 25; i++)
      await vault.set(`project/p/k${i}`, 'dev', `value-${i}`, {
        description: `Rotation fixture number ${i} for billing`,
      });
    const progress: number[] = [];
    const r = await rotateKeys(vault, { batchSize: 10, onProgress: (p) => progress.push(p.done) });
    expect(r).toMatchObject({ newKey: 'k2', resumed: false, rewrapped: 25, retired: ['k1'] });
    expect(progress).toEqual([0, 10, 20, 25]);
    const st = await keyStatus(vault);
    expect(st.primary).toBe('k2');
    expect(st.keys.find((k) => k.id === 'k2')?.wrappedKeys).toBe(25);
    expect(st.keys.find((k) => k.id === 'k1')).toMatchObject({ status: 'retired', wrappedKeys: 0 });
    for (let i = 0; i < 25; i++)
      expect((await vault.get(`project/p/k${i}`, 'dev')).value).toBe(`value-${i}`);
    expect((await vault.verify()).ok).toBe(true);
  });

  it('fails closed when the audit record cannot be written', async () => {
    const t = await makeTestVault();
    await t.vault.set(PATH, 'dev', 'before', { description: DESCRIPTION });
    t.storage.database.exec(
      "CREATE TRIGGER block_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit disk full'); END",
    );
    await expect(t.vault.set(PATH, 'dev', 'after')).rejects.toMatchObject({
      code: 'AUDIT_WRITE_FAILED',
    });
    await expect(t.vault.get(PATH, 'dev')).rejects.toMatchObject({ code: 'AUDIT_WRITE_FAILED' });
    t.storage.database.exec('DROP TRIGGER block_audit');
    const got = await t.vault.get(PATH, 'dev');
    expect(got).toMatchObject({ value: 'before', version: 1 });
  });
});
