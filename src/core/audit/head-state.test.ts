import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault } from '../../../test/helpers/vault.js';
import { CofferError } from '../errors.js';
import { acknowledgeAuditBreak } from './acknowledge.js';
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
});
