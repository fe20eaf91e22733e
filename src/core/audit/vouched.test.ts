/**
 * Only records the vault vouches for drive an action: none while the audit log does not
 * verify, and none before an acknowledged break (whoever made it could have rewritten every
 * record before it) or before an acknowledgement that moved the head.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { CofferError } from '../errors.js';
import { Vault } from '../store/vault.js';
import { acknowledgeAuditBreak } from './acknowledge.js';
import { appendAudit } from './append.js';
import { hashAuditRecord } from './chain.js';
import { auditTrust, readVouchedAudit, refuseUnvouched } from './vouched.js';

let t: TestVault | undefined;
afterEach(async () => {
  t?.vault.close();
  await t?.storage.close();
  t = undefined;
});

type Row = Record<string, unknown>;

/** A vault of `n` list records after init (record 1): records 2 to n + 1. */
async function vaultWithLists(n: number): Promise<TestVault> {
  t = await makeTestVault();
  for (let i = 0; i < n; i++) await t.vault.list();
  return t;
}

const seqs = (v: TestVault, pick: (r: { action: string }) => boolean = () => true) =>
  readVouchedAudit(v.vault, (r) => (pick(r) ? r.seq : undefined));

/** Edits record `seq` in place, its stored hash kept: what someone with the database can do. */
function editInPlace(v: TestVault, seq: number, actor: string): void {
  v.storage.database.prepare('UPDATE audit SET actor = ? WHERE seq = ?').run(actor, seq);
}

describe('the audit records an action may use', () => {
  it('an intact log: every record, in order, and nothing left out', async () => {
    const v = await vaultWithLists(3);
    const { picked, trust } = await seqs(v);
    expect(picked).toEqual([1, 2, 3, 4]);
    expect(trust).toEqual({ verified: true });
    expect(await auditTrust(v.vault)).toEqual({ verified: true });
  });

  it('a record edited in place (hash kept): none is used until the break is acknowledged', async () => {
    const v = await vaultWithLists(4);
    editInPlace(v, 3, 'cli:victim');
    // Work goes on (appends check the tail only), but no record drives anything.
    await v.vault.list();
    const broken = await seqs(v);
    expect(broken.picked).toEqual([]);
    expect(broken.trust).toMatchObject({ verified: false });
    expect(broken.trust.problem).toMatch(/^record 3 was changed/);
    expect(broken.trust.notUsed).toMatch(
      /^no audit record was used: the audit log does not verify/,
    );
    await acknowledgeAuditBreak(v.vault, 'edited by a test');
    // Records 1 to 3 are not vouched for: the edit could hide a rewrite of all before it.
    // The records after the break were chained onto by the head all along: still used.
    const after = await seqs(v, (r) => r.action === 'list');
    expect(after.picked).toEqual([4, 5, 6]);
    expect(after.trust.verified).toBe(true);
    expect(after.trust.notUsed).toMatch(
      /^2 audit records were not used \(among records 1 to 3\): the audit chain breaks at record 3/,
    );
  });

  it('attack: the records before a break rewritten consistently, the break acknowledged: still not used', async () => {
    const v = await vaultWithLists(3);
    const db = v.storage.database;
    // Record 2 forged whole, its hash recomputed from record 1: the chain shows one seam,
    // between records 2 and 3, as if a record had gone missing.
    const r2 = db.prepare('SELECT * FROM audit WHERE seq = 2').get() as Row;
    const forged = { ...r2, action: 'file_write', actor: 'cli:victim' };
    db.prepare(
      "UPDATE audit SET action = 'file_write', actor = 'cli:victim', hash = ? WHERE seq = 2",
    ).run(hashAuditRecord(2, forged as never, String(r2.prev_hash)));
    expect((await auditTrust(v.vault)).problem).toMatch(/^record 3 does not follow record 2/);
    await acknowledgeAuditBreak(v.vault, 'a gap, looked harmless');
    const { picked, trust } = await seqs(
      v,
      (r) => r.action === 'file_write' || r.action === 'list',
    );
    expect(picked).toEqual([4]);
    expect(trust.notUsed).toMatch(/^2 audit records were not used \(among records 1 to 3\)/);
  });

  it('a cut tail: nothing until acknowledged, then only what follows the acknowledgement', async () => {
    const v = await vaultWithLists(4);
    v.storage.database.prepare('DELETE FROM audit WHERE seq >= 4').run();
    const broken = await auditTrust(v.vault);
    expect(broken.verified).toBe(false);
    expect(broken.problem).toMatch(/missing/);
    const ack = await acknowledgeAuditBreak(v.vault, 'tail cut by a test');
    await v.vault.list();
    // The acknowledgement vouched for the table as it was: whoever cut it could rewrite it.
    const { picked, trust } = await seqs(v, (r) => r.action === 'list');
    expect(picked).toEqual([ack.seq + 1]);
    expect(trust.notUsed).toMatch(
      new RegExp(
        `^2 audit records were not used \\(among records 1 to ${ack.seq}\\): record ${ack.seq} acknowledged a break`,
      ),
    );
  });

  it('the denial of a wrong master key after the head is never used', async () => {
    const v = await vaultWithLists(1);
    await v.storage.transaction('write', (tx) =>
      appendAudit(
        tx,
        [
          {
            ts: new Date().toISOString(),
            actor: 'cli:intruder',
            action: 'get',
            path: null,
            env: null,
            version: null,
            outcome: 'denied',
            detail: 'WRONG_KEY',
          },
        ],
        undefined,
      ),
    );
    const { picked, trust } = await seqs(v);
    expect(picked).toEqual([1, 2]);
    expect(trust).toEqual({ verified: true });
  });

  it('keeps the newest `keep` of what it picks', async () => {
    const v = await vaultWithLists(7);
    const { picked } = await readVouchedAudit(v.vault, (r) => r.seq, { keep: 3 });
    expect(picked).toEqual([6, 7, 8]);
  });

  it('refuseUnvouched: refuses, audited as a denial of the action, never when verified', async () => {
    const v = await vaultWithLists(2);
    await refuseUnvouched(v.vault, 'rotate_sync', {}, await auditTrust(v.vault));
    editInPlace(v, 2, 'cli:victim');
    const trust = await auditTrust(v.vault);
    const err = await refuseUnvouched(
      v.vault,
      'rotate_sync',
      { path: 'project/app/api_key', env: 'dev' },
      trust,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CofferError);
    expect(err).toMatchObject({ code: 'AUDIT_CHAIN_BROKEN' });
    expect((err as CofferError).message).toMatch(
      /^the audit log does not verify \(record 2 was changed .*\): coffer acts on none of its records/,
    );
    expect((err as CofferError).hint).toContain('coffer audit verify');
    const last = v.storage.database
      .prepare('SELECT action, path, env, outcome, detail FROM audit ORDER BY seq DESC LIMIT 1')
      .get();
    expect(last).toEqual({
      action: 'rotate_sync',
      path: 'project/app/api_key',
      env: 'dev',
      outcome: 'denied',
      detail: `the audit log does not verify: ${trust.problem}`,
    });
  });

  it('refuseUnvouched with a broken head: the log takes no record, the refusal stands', async () => {
    const v = await vaultWithLists(2);
    v.storage.database.prepare('DELETE FROM audit WHERE seq = 3').run();
    const fresh = new Vault(v.storage, v.masterKey, { actor: 'test:user' });
    const trust = await auditTrust(fresh);
    await expect(refuseUnvouched(fresh, 'sync', {}, trust)).rejects.toMatchObject({
      code: 'AUDIT_CHAIN_BROKEN',
      message: expect.stringMatching(/^the audit log does not verify/),
    });
    const count = v.storage.database.prepare('SELECT COUNT(*) AS n FROM audit').get();
    expect(count).toEqual({ n: 2 });
    fresh.close();
  });
});
