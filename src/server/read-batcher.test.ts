import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault, type TestVault } from '../../test/helpers/vault.js';
import { readAudit, verifyAudit } from '../core/audit/log.js';
import { Vault } from '../core/store/vault.js';
import { openSqliteStorage } from '../storage/sqlite/sqlite-storage.js';
import { MAX_WAIT_TURNS, ReadBatcher } from './read-batcher.js';

const A = 'project/app/db_url';
const B = 'project/app/api_key';
const VALUE_A = 'postgres://app:pw-A@db/app';
const VALUE_B = 'sk_test_value_B_0123';

const open: TestVault[] = [];

async function vaultWithSecrets(): Promise<TestVault> {
  const t = await makeTestVault('test:setup');
  open.push(t);
  await t.vault.set(A, 'dev', VALUE_A, { description: DESCRIPTION });
  await t.vault.set(B, 'dev', VALUE_B, { description: DESCRIPTION });
  return t;
}

afterEach(async () => {
  for (const t of open.splice(0)) {
    await t.storage.close();
    rmSync(t.dir, { recursive: true, force: true });
  }
});

describe('ReadBatcher', () => {
  it('commits reads made in one turn together, one audit record each', async () => {
    const { vault } = await vaultWithSecrets();
    const batcher = new ReadBatcher(vault);
    const reads = [
      batcher.read({ path: A, env: 'dev', actor: 'token:one@127.0.0.1' }),
      batcher.read({ path: B, env: 'dev', actor: 'token:two@127.0.0.1' }),
      batcher.read({ path: A, env: 'dev', actor: 'token:three@127.0.0.1' }),
    ];
    const values = await Promise.all(reads);
    expect(values.map((v) => v.value)).toEqual([VALUE_A, VALUE_B, VALUE_A]);
    expect(batcher.batches).toBe(1);
    expect(batcher.reads).toBe(3);
    const gets = (await readAudit(vault)).filter((r) => r.action === 'get');
    expect(gets.map((r) => [r.actor, r.path, r.outcome])).toEqual([
      ['token:one@127.0.0.1', A, 'ok'],
      ['token:two@127.0.0.1', B, 'ok'],
      ['token:three@127.0.0.1', A, 'ok'],
    ]);
    expect((await verifyAudit(vault)).ok).toBe(true);
  });

  it('hands every caller its own object', async () => {
    const { vault } = await vaultWithSecrets();
    const batcher = new ReadBatcher(vault);
    const [first, second] = await Promise.all([
      batcher.read({ path: A, env: 'dev' }),
      batcher.read({ path: A, env: 'dev' }),
    ]);
    expect(first).not.toBe(second);
    first!.value = 'changed by the first caller';
    expect(second!.value).toBe(VALUE_A);
  });

  it('lets reads that keep arriving on the next turns join the pending batch', async () => {
    const { vault } = await vaultWithSecrets();
    const batcher = new ReadBatcher(vault);
    // Registered before the first read, so each runs just before the batcher's check of
    // its turn: one read arrives on the first turn and one on the second.
    const later: Promise<unknown>[] = [];
    setImmediate(() => {
      later.push(batcher.read({ path: B, env: 'dev' }));
      setImmediate(() => later.push(batcher.read({ path: B, env: 'dev' })));
    });
    await batcher.read({ path: A, env: 'dev' });
    await Promise.all(later);
    expect(later).toHaveLength(2);
    expect(batcher.reads).toBe(3);
    expect(batcher.batches).toBe(1);
  });

  it('does not wait for ever while reads keep arriving', async () => {
    const { vault } = await vaultWithSecrets();
    const batcher = new ReadBatcher(vault);
    const reads: Promise<unknown>[] = [];
    const arrivals = MAX_WAIT_TURNS * 3;
    let left = arrivals;
    // One read per turn, every turn, starting before the batcher's first check.
    await new Promise<void>((done) => {
      const next = () => {
        reads.push(batcher.read({ path: A, env: 'dev' }));
        if (--left > 0) setImmediate(next);
        else done();
      };
      setImmediate(next);
      reads.push(batcher.read({ path: B, env: 'dev' }));
    });
    await Promise.all(reads);
    expect(batcher.reads).toBe(arrivals + 1);
    expect(batcher.batches).toBeGreaterThan(1);
    expect((await verifyAudit(vault)).ok).toBe(true);
  });

  it('keeps batches within maxBatch', async () => {
    const { vault } = await vaultWithSecrets();
    const batcher = new ReadBatcher(vault, 2);
    const values = await Promise.all(
      Array.from({ length: 5 }, () => batcher.read({ path: A, env: 'dev' })),
    );
    expect(values.every((v) => v.value === VALUE_A)).toBe(true);
    expect(batcher.batches).toBe(3);
  });

  it('fails only the read that fails, and audits it', async () => {
    const { vault } = await vaultWithSecrets();
    const batcher = new ReadBatcher(vault);
    const missing = 'project/app/not_there';
    const [ok, gone] = await Promise.allSettled([
      batcher.read({ path: A, env: 'dev', actor: 'token:ok@127.0.0.1' }),
      batcher.read({ path: missing, env: 'dev', actor: 'token:miss@127.0.0.1' }),
    ]);
    expect(ok).toMatchObject({ status: 'fulfilled', value: { value: VALUE_A } });
    expect(gone).toMatchObject({ status: 'rejected', reason: { code: 'SECRET_NOT_FOUND' } });
    expect(batcher.batches).toBe(1);
    const gets = (await readAudit(vault)).filter((r) => r.action === 'get');
    expect(gets.map((r) => [r.actor, r.outcome])).toEqual([
      ['token:ok@127.0.0.1', 'ok'],
      ['token:miss@127.0.0.1', 'not_found'],
    ]);
  });

  it('asks for deferSync commits only when told to, on a group-commit vault answering before the fsync', async () => {
    const t = await vaultWithSecrets();
    const grouped = openSqliteStorage(t.file, { groupCommit: true });
    try {
      const vault = new Vault(grouped, t.masterKey, { actor: 'test:server' });
      const sync = grouped.walSync!;
      const deferred = new ReadBatcher(vault, 256, { deferSync: true });
      expect((await deferred.read({ path: A, env: 'dev' })).value).toBe(VALUE_A);
      expect(sync.syncs).toBe(0);
      const synced = new ReadBatcher(vault);
      expect((await synced.read({ path: B, env: 'dev' })).value).toBe(VALUE_B);
      expect(sync.syncs).toBeGreaterThanOrEqual(1);
      const gets = (await readAudit(vault)).filter((r) => r.action === 'get');
      expect(gets.map((r) => r.path)).toEqual([A, B]);
    } finally {
      await grouped.close();
    }
  });

  it('refuses a maxBatch that is not a whole number >= 1', () => {
    expect(() => new ReadBatcher({} as never, 0)).toThrow(RangeError);
    expect(() => new ReadBatcher({} as never, 1.5)).toThrow(RangeError);
  });
});
