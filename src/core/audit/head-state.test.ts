import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { openSqliteStorage } from '../../storage/sqlite/sqlite-storage.js';
import { masterKeyCheck } from '../crypto/kdf.js';
import { deriveSubkey } from '../crypto/subkeys.js';
import { CofferError } from '../errors.js';
import { initVault } from '../store/init.js';
import { Vault } from '../store/vault.js';
import { acknowledgeAuditBreak } from './acknowledge.js';
import { hashAuditRecord } from './chain.js';
import { formatUnboundHead } from './head.js';
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
      const detail = String(r.detail ?? '').replace(
        /, audit head authenticated( and bound to the vault)?$/,
        '',
      );
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

  const auditRows = (t: TestVault) =>
    t.storage.database.prepare('SELECT * FROM audit ORDER BY seq').all() as Record<
      string,
      unknown
    >[];
  const headOf = (t: TestVault) =>
    (
      t.storage.database.prepare("SELECT value FROM meta WHERE key = 'audit_head'").get() as {
        value: string;
      }
    ).value;
  const setHead = (t: TestVault, value: string) =>
    t.storage.database.prepare("UPDATE meta SET value = ? WHERE key = 'audit_head'").run(value);

  it("attack: another vault's log and head under the same master key are refused", async () => {
    const a = await makeTestVault();
    await a.vault.set(PATH, 'dev', 'value-a', { description: DESCRIPTION });
    // A second vault made with the same key (a key file used for two vaults).
    const bDir = `${a.dir}/b.db`;
    const bStorage = openSqliteStorage(bDir, { create: true });
    await initVault(bStorage, { masterKey: a.masterKey, keySource: 'key', actor: 'test:user' });
    const b = new Vault(bStorage, a.masterKey, { actor: 'test:user' });
    await b.list();
    await b.list();
    // Its whole log and head copied over this vault's: every hash and the head's MAC are
    // right for that key, only the vault differs.
    const db = a.storage.database;
    db.prepare('DELETE FROM audit').run();
    const insert = db.prepare(
      'INSERT INTO audit (seq, ts, actor, action, path, env, version, outcome, detail, prev_hash, hash) VALUES (@seq, @ts, @actor, @action, @path, @env, @version, @outcome, @detail, @prev_hash, @hash)',
    );
    for (const r of bStorage.database.prepare('SELECT * FROM audit ORDER BY seq').all()) {
      insert.run(r);
    }
    const bHead = (
      bStorage.database.prepare("SELECT value FROM meta WHERE key = 'audit_head'").get() as {
        value: string;
      }
    ).value;
    setHead(a, bHead);
    const fresh = new Vault(a.storage, a.masterKey, { actor: 'test:user' });
    await expect(fresh.get(PATH, 'dev')).rejects.toMatchObject({
      code: 'AUDIT_CHAIN_BROKEN',
      message: expect.stringContaining('not authentic'),
    });
    expect(await verifyAudit(fresh)).toMatchObject({ ok: false, head: 'broken' });
    b.close();
    await bStorage.close();
    await a.storage.close();
  });

  it('an unbound head (an older coffer) is bound once, on record', async () => {
    const t = await makeTestVault();
    await t.vault.set(PATH, 'dev', 'value-1', { description: DESCRIPTION });
    t.vault.close();
    const db = t.storage.database;
    // As a coffer before bound heads wrote it: the init record's detail, and the head with a
    // MAC over seq and hash only.
    let prev = '0'.repeat(64);
    for (const r of auditRows(t)) {
      const detail =
        r.detail === null ? null : String(r.detail).replace(/ and bound to the vault$/, '');
      const hash = hashAuditRecord(Number(r.seq), { ...(r as object), detail } as never, prev);
      db.prepare('UPDATE audit SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(
        detail,
        prev,
        hash,
        r.seq,
      );
      prev = hash;
    }
    const key = deriveSubkey(t.masterKey, 'audit-head');
    const seq = auditRows(t).length;
    setHead(t, formatUnboundHead(key, seq, prev));
    const v = new Vault(t.storage, t.masterKey, { actor: 'test:user' });
    db.prepare("UPDATE meta SET value = '2' WHERE key = 'format'").run();
    expect(await verifyAudit(v)).toMatchObject({ ok: true, head: 'legacy' });
    expect((await v.get(PATH, 'dev')).value).toBe('value-1');
    // From the first bound head on, the format says so: an older coffer refuses the vault.
    expect(
      (db.prepare("SELECT value FROM meta WHERE key = 'format'").get() as { value: string }).value,
    ).toBe('3');
    const rows = auditRows(t);
    expect(rows.slice(-2).map((r) => [r.action, r.detail])).toEqual([
      ['audit_upgrade', `audit head bound to the vault from record ${seq + 1} on`],
      ['get', null],
    ]);
    expect(await verifyAudit(v)).toMatchObject({ ok: true, head: 'authenticated' });
    await t.storage.close();
  });

  it('a vault born bound refuses an unbound head of its own chain', async () => {
    const t = await makeTestVault();
    await t.vault.set(PATH, 'dev', 'value-1', { description: DESCRIPTION });
    const [seq, hash] = headOf(t).split(':') as [string, string];
    setHead(t, formatUnboundHead(deriveSubkey(t.masterKey, 'audit-head'), Number(seq), hash));
    const v = new Vault(t.storage, t.masterKey, { actor: 'test:user' });
    const err = await v.list().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AUDIT_CHAIN_BROKEN' });
    expect((err as Error).message).toContain('record 1 shows it was');
    const ack = await acknowledgeAuditBreak(v, 'unbound head found');
    expect(ack.problem.mac).toBe('unbound');
    expect(await verifyAudit(v)).toMatchObject({ ok: true, head: 'authenticated' });
    await t.storage.close();
  });

  it('a record edited in place (hash column kept): verify reports it, acknowledge accepts it, verify is then clean', async () => {
    const t = await makeTestVault();
    for (let i = 0; i < 4; i++) await t.vault.list();
    const db = t.storage.database;
    const edit = (seq: number) =>
      db.prepare("UPDATE audit SET actor = 'someone:else' WHERE seq = ?").run(seq);
    edit(2);
    // The tail is intact: work goes on (a cut tail is what stops it).
    await t.vault.list();
    const before = await verifyAudit(t.vault);
    expect(before).toMatchObject({ ok: false, problem: { seq: 2 } });
    const changed2 = before.problem!.reason;
    expect(changed2).toMatch(/^record 2 was changed \(its fields hash to [0-9a-f]{16}\)$/);
    const ack = await acknowledgeAuditBreak(t.vault, 'edited by a test');
    expect(ack.problem).toMatchObject({ reason: changed2, mac: 'valid' });
    const after = await verifyAudit(t.vault);
    expect(after).toMatchObject({ ok: true, head: 'authenticated' });
    expect(after.acknowledged.map((a) => a.problem)).toEqual([changed2]);
    // Record 2 changed once more: not what was acknowledged, a new problem.
    db.prepare("UPDATE audit SET actor = 'someone:else:again' WHERE seq = 2").run();
    const again = await verifyAudit(t.vault);
    expect(again.ok).toBe(false);
    expect(again.problem?.reason).toMatch(/^record 2 was changed/);
    expect(again.problem?.reason).not.toBe(changed2);
    db.prepare("UPDATE audit SET actor = 'someone:else' WHERE seq = 2").run();
    expect((await verifyAudit(t.vault)).ok).toBe(true);
    // Another edit is a new problem: the acknowledgement named record 2 only.
    edit(4);
    const four = await verifyAudit(t.vault);
    expect(four).toMatchObject({ ok: false, problem: { seq: 4 } });
    expect(four.problem?.reason).toMatch(/^record 4 was changed/);
    // An acknowledgement edited in place to name it acknowledges nothing (and is changed).
    const ackSeq = after.acknowledged[0]!.seq;
    const detail = (
      db.prepare('SELECT detail FROM audit WHERE seq = ?').get(ackSeq) as { detail: string }
    ).detail;
    db.prepare('UPDATE audit SET detail = ? WHERE seq = ?').run(
      detail.replace(changed2, `${changed2}; ${four.problem!.reason}`),
      ackSeq,
    );
    const forged = await verifyAudit(t.vault);
    expect(forged.ok).toBe(false);
    expect(forged.problem?.reason).toBe(changed2);
    await t.storage.close();
  });

  it('records removed from the middle: verify reports them, acknowledge accepts them', async () => {
    const t = await makeTestVault();
    for (let i = 0; i < 5; i++) await t.vault.list();
    const db = t.storage.database;
    db.prepare('DELETE FROM audit WHERE seq IN (3, 4)').run();
    await t.vault.list();
    const before = await verifyAudit(t.vault);
    expect(before).toMatchObject({ ok: false, problem: { seq: 3 } });
    expect(before.problem?.reason).toMatch(
      /^records 3 to 4 are missing \(removed\), between hashes [0-9a-f]{16} and [0-9a-f]{16}$/,
    );
    const ack = await acknowledgeAuditBreak(t.vault, 'two records lost');
    expect(ack.problem.reason).toContain(before.problem!.reason);
    expect(await verifyAudit(t.vault)).toMatchObject({ ok: true });
    // Record 2, next to the acknowledged gap, rewritten with its hash recomputed to fit:
    // the gap's seam no longer is what was acknowledged.
    const r2 = db.prepare('SELECT * FROM audit WHERE seq = 2').get() as Record<string, unknown>;
    const forged = { ...r2, actor: 'someone:else' };
    const hash = hashAuditRecord(2, forged as never, String(r2.prev_hash));
    db.prepare("UPDATE audit SET actor = 'someone:else', hash = ? WHERE seq = 2").run(hash);
    const after = await verifyAudit(t.vault);
    expect(after.ok).toBe(false);
    expect(after.problem?.reason).toMatch(/^records 3 to 4 are missing/);
    expect(after.problem?.reason).not.toBe(before.problem?.reason);
    await t.storage.close();
  });

  it('a record relinked (prev_hash changed, its hash recomputed) is acknowledged once', async () => {
    const t = await makeTestVault();
    for (let i = 0; i < 4; i++) await t.vault.list();
    const db = t.storage.database;
    const r3 = db.prepare('SELECT * FROM audit WHERE seq = 3').get() as Record<string, unknown>;
    const prev = 'f'.repeat(64);
    const hash = hashAuditRecord(3, r3 as never, prev);
    db.prepare('UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = 3').run(prev, hash);
    // Record 4 still names the old hash of 3: two seams, both broken.
    const before = await verifyAudit(t.vault);
    expect(before.ok).toBe(false);
    expect(before.problem?.reason).toMatch(/^record 3 does not follow record 2/);
    await acknowledgeAuditBreak(t.vault, 'relinked by a test');
    expect(await verifyAudit(t.vault)).toMatchObject({ ok: true });
    await t.storage.close();
  });

  it('the last record edited in place: work goes on, verify reports it, acknowledge accepts it', async () => {
    const t = await makeTestVault();
    await t.vault.set(PATH, 'dev', 'value-1', { description: DESCRIPTION });
    const db = t.storage.database;
    const end = (db.prepare('SELECT MAX(seq) AS n FROM audit').get() as { n: number }).n;
    db.prepare("UPDATE audit SET path = 'project/app/other' WHERE seq = ?").run(end);
    const fresh = new Vault(t.storage, t.masterKey, { actor: 'test:user' });
    expect((await fresh.get(PATH, 'dev')).value).toBe('value-1');
    const reason = (await verifyAudit(fresh)).problem?.reason;
    expect(reason).toMatch(new RegExp(`^record ${end} was changed`));
    const ack = await acknowledgeAuditBreak(fresh, 'last record edited');
    expect(ack.problem.reason).toBe(reason);
    expect(await verifyAudit(fresh)).toMatchObject({ ok: true, head: 'authenticated' });
    await t.storage.close();
  });
});
