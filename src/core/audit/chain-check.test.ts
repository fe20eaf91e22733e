/**
 * The server's check of the audit chain: checks asked together share one walk of the log;
 * `recent` reuses the last result while the log's head stays and it is younger than its
 * bound, `fresh` always sees the log as it is (an edit in place of an older record included).
 */
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { withListAudit } from '../../../test/helpers/audit-reads.js';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import type { StorageTx } from '../store/storage.js';
import { AuditChainCheck, CHAIN_CHECK_REUSE_MS } from './chain-check.js';

const DESCRIPTION = 'Database URL for the billing worker';

let tv: TestVault;
let clock: number;
let check: AuditChainCheck;
/** Walks of the log so far (a walk reads every record; the head's read reads none). */
let walks: number;

beforeEach(async () => {
  tv = await makeTestVault('cli:owner');
  for (let i = 0; i < 5; i++) {
    await tv.vault.set('project/app/db_url', 'dev', `v${i}`, { description: DESCRIPTION });
  }
  clock = Date.parse('2026-03-01T12:00:00Z');
  check = new AuditChainCheck(tv.vault, { now: () => new Date(clock) });
  walks = 0;
  const original = tv.vault.readTransaction.bind(tv.vault);
  vi.spyOn(tv.vault, 'readTransaction').mockImplementation((inner) =>
    original((tx, keyring) => {
      const listAudit: StorageTx['listAudit'] = (q) => {
        if ((q.afterSeq ?? 0) === 0) walks++;
        return tx.listAudit(q);
      };
      return inner(withListAudit(tx, listAudit), keyring);
    }),
  );
});

afterEach(async () => {
  vi.restoreAllMocks();
  tv.vault.close();
  await tv.storage.close();
  rmSync(tv.dir, { recursive: true, force: true });
});

/** Changes record 2 in place, as someone with the database file could; the head stays. */
function editRecordInPlace(): void {
  const db = new Database(tv.file);
  try {
    db.prepare("UPDATE audit SET actor = 'someone-else' WHERE seq = 2").run();
  } finally {
    db.close();
  }
}

describe('AuditChainCheck', () => {
  it('recent: one walk while the head stays and the result is young; a new record walks again', async () => {
    const first = await check.recent();
    // The vault's creation and five sets.
    expect(first).toMatchObject({ ok: true, records: 6 });
    expect(walks).toBe(1);
    clock += CHAIN_CHECK_REUSE_MS - 1;
    expect(await check.recent()).toBe(first);
    expect(walks).toBe(1);
    await tv.vault.set('project/app/db_url', 'dev', 'v5', { description: DESCRIPTION });
    expect(await check.recent()).toMatchObject({ ok: true, records: 7 });
    expect(walks).toBe(2);
  });

  it('recent: an edit in place is found once the bound has passed; fresh finds it at once', async () => {
    expect(await check.recent()).toMatchObject({ ok: true });
    editRecordInPlace();
    // The head did not move: the last result is reused within the bound...
    clock += CHAIN_CHECK_REUSE_MS - 1;
    expect(await check.recent()).toMatchObject({ ok: true });
    expect(walks).toBe(1);
    // ...but a check asked for walks the log as it is.
    expect(await check.fresh()).toMatchObject({ ok: false, problem: { seq: 2 } });
    expect(walks).toBe(2);
    // And a later recent one reuses that walk (its head is still the same).
    expect(await check.recent()).toMatchObject({ ok: false, problem: { seq: 2 } });
    expect(walks).toBe(2);
  });

  it('recent: walks again once the bound has passed, the head unchanged', async () => {
    expect(await check.recent()).toMatchObject({ ok: true });
    editRecordInPlace();
    clock += CHAIN_CHECK_REUSE_MS;
    expect(await check.recent()).toMatchObject({ ok: false, problem: { seq: 2 } });
    expect(walks).toBe(2);
  });

  it('fresh walks on every call; calls made together share one walk', async () => {
    await check.fresh();
    await check.fresh();
    expect(walks).toBe(2);
    const results = await Promise.all([check.fresh(), check.fresh(), check.recent()]);
    expect(walks).toBe(3);
    expect(results[1]).toBe(results[0]);
    expect(results[0]).toMatchObject({ ok: true, records: 6 });
  });
});
