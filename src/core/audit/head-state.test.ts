import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { masterKeyCheck } from '../crypto/kdf.js';
import { CofferError } from '../errors.js';
import { Vault } from '../store/vault.js';
import { acknowledgeAuditBreak } from './acknowledge.js';
import { hashAuditRecord } from './chain.js';
import { verifyAudit } from './log.js';

const PATH = 'project/app/db_password';

describe('the audit head before an append', () => {
  it('property: a cut of any k >= 1 tail records is refused before anything is appended, until acknowledged', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 6 }), fc.nat(), async (ops, cutSeed) => {
        const t = await makeTestVault();
        try {
          await t.vault.set(PATH, 'dev', 'value-1', { description: DESCRIPTION });
          for (let i = 0; i < ops; i++) await t.vault.list();
          const db = t.storage.database;
          const count = () =>
            (db.prepare('SELECT COUNT(*) AS n FROM audit').get() as { n: number }).n;
          const total = count();
          const k = 1 + (cutSeed % total); // 1..total: up to the whole log
          db.prepare('DELETE FROM audit WHERE seq > ?').run(total - k);
          for (const attempt of [
            () => t.vault.list(),
            () => t.vault.get(PATH, 'dev'),
            () => t.vault.get('project/app/missing', 'dev'),
            () => t.vault.set(PATH, 'dev', 'value-2'),
          ]) {
            const err = await attempt().catch((e: unknown) => e);
            expect(err).toBeInstanceOf(CofferError);
            expect((err as CofferError).code).toBe('AUDIT_CHAIN_BROKEN');
            expect(count()).toBe(total - k);
          }
          expect((await verifyAudit(t.vault)).ok).toBe(false);
          const ack = await acknowledgeAuditBreak(t.vault, 'property test');
          expect(ack.problem.stored?.seq).toBe(total);
          expect(ack.problem.tableEnd?.seq ?? 0).toBe(total - k);
          expect((await t.vault.get(PATH, 'dev')).value).toBe('value-1');
          const after = await verifyAudit(t.vault);
          expect(after).toMatchObject({ ok: true, head: 'authenticated' });
          expect(after.acknowledged.map((a) => a.seq)).toEqual([total - k + 1]);
        } finally {
          await t.storage.close();
        }
      }),
      { numRuns: 15 },
    );
  });

  it('refuses to acknowledge an intact chain, and audits the refusal', async () => {
    const t = await makeTestVault();
    const err = await acknowledgeAuditBreak(t.vault, 'nothing happened').catch((e) => e);
    expect(err).toMatchObject({ code: 'AUDIT_NOTHING_TO_ACKNOWLEDGE' });
    const last = t.storage.database
      .prepare('SELECT action, outcome FROM audit ORDER BY seq DESC LIMIT 1')
      .get();
    expect(last).toEqual({ action: 'audit_acknowledge', outcome: 'conflict' });
    expect((await verifyAudit(t.vault)).acknowledged).toEqual([]);
    for (const bad of ['', '   ', 'two\nlines', 'x'.repeat(501)]) {
      await expect(acknowledgeAuditBreak(t.vault, bad)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
    await t.storage.close();
  });

  /** Turns a test vault into one written before row MACs and head MACs (format 1). */
  function makeOlder(t: TestVault, cut: boolean): Vault {
    t.vault.close();
    const db = t.storage.database;
    db.prepare('UPDATE keks SET mac = NULL').run();
    db.prepare('UPDATE secrets SET mac = NULL').run();
    db.prepare("UPDATE meta SET value = ? WHERE key = 'master_check'").run(
      masterKeyCheck(t.masterKey),
    );
    db.prepare("UPDATE meta SET value = '1' WHERE key = 'format'").run();
    // The init record as older vaults wrote it, and the chain after it recomputed.
    const rows = db.prepare('SELECT * FROM audit ORDER BY seq').all() as Record<string, unknown>[];
    let prev = '0'.repeat(64);
    for (const r of rows) {
      const detail = String(r.detail ?? '').replace(/, audit head authenticated$/, '');
      const entry = { ...(r as object), detail: r.detail === null ? null : detail } as never;
      const hash = hashAuditRecord(Number(r.seq), entry, prev);
      db.prepare('UPDATE audit SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(
        r.detail === null ? null : detail,
        prev,
        hash,
        r.seq,
      );
      prev = hash;
    }
    db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head'").run(
      `${rows.at(-1)!.seq}:${prev}`,
    );
    if (cut) db.prepare('DELETE FROM audit WHERE seq = ?').run(rows.at(-1)!.seq);
    return new Vault(t.storage, t.masterKey, { actor: 'test:user' });
  }

  it('an older vault: its head is authenticated with the row migration, on record', async () => {
    const t = await makeTestVault();
    await t.vault.set(PATH, 'dev', 'value-1', { description: DESCRIPTION });
    const v = makeOlder(t, false);
    expect((await v.get(PATH, 'dev')).value).toBe('value-1');
    const actions = t.storage.database
      .prepare('SELECT action FROM audit ORDER BY seq')
      .all()
      .map((r) => (r as { action: string }).action);
    expect(actions.slice(-3)).toEqual(['audit_upgrade', 'vault.migrate', 'get']);
    expect(await verifyAudit(v)).toMatchObject({ ok: true, head: 'authenticated' });
    await t.storage.close();
  });

  it('an older vault with a cut tail: migrated, then refused until acknowledged', async () => {
    const t = await makeTestVault();
    await t.vault.set(PATH, 'dev', 'value-1', { description: DESCRIPTION });
    const v = makeOlder(t, true);
    await expect(v.list()).rejects.toMatchObject({ code: 'AUDIT_CHAIN_BROKEN' });
    expect(await verifyAudit(v)).toMatchObject({ ok: false, head: 'broken' });
    const ack = await acknowledgeAuditBreak(v, 'cut before the upgrade');
    expect(ack.problem.mac).toBe('legacy');
    expect((await v.get(PATH, 'dev')).value).toBe('value-1');
    expect(await verifyAudit(v)).toMatchObject({ ok: true, head: 'authenticated' });
    await t.storage.close();
  });
});
