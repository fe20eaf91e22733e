/**
 * Cutting the audit tail must not heal: records deleted from the end of the log behind
 * coffer's back make every audited command fail with exit 4 until an operator acknowledges
 * the break (`coffer audit acknowledge`), which stays listed by `coffer audit verify`. The
 * stored head is authenticated with the master key, so editing it without the key is caught;
 * checkpoints (`coffer audit head`) kept elsewhere catch a cut below them.
 *
 * Runs through the built binary on a SQLite vault file and, when COFFER_TEST_DATABASE_URL is
 * set, on a throw-away PostgreSQL schema (otherwise that skip is reported by name).
 */
import { createHash, createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Db, type DbSetup, dbBackends, type Row, sqliteSetup } from './db-harness.js';
import { makeHome, type RunResult } from './harness.js';
import { randomMasterKey } from './serve-harness.js';

const PATH = 'project/billing/db_password';
const DESCRIPTION = 'Database password of the billing service';
const VALUE = 'tail-Value-5c1e9a';

/** A vault with a secret, read once: init(1), set(2), get(3). */
async function prepared(make: () => DbSetup | Promise<DbSetup>): Promise<DbSetup> {
  const s = await make();
  expect(s.run(['init']).code).toBe(0);
  expect(s.run(['set', PATH, '-d', DESCRIPTION], { input: VALUE }).code).toBe(0);
  expect(s.run(['get', PATH]).stdout).toBe(`${VALUE}\n`);
  return s;
}

const lastSeq = async (db: Db): Promise<number> =>
  Number((await db.all('SELECT MAX(seq) AS m FROM audit'))[0]!.m);
const cutFrom = (db: Db, seq: number): Promise<void> =>
  db.run('DELETE FROM audit WHERE seq >= ?', [seq]);
const storedHead = async (db: Db): Promise<string> =>
  String((await db.all("SELECT value FROM meta WHERE key = 'audit_head'"))[0]!.value);
const setHead = (db: Db, value: string): Promise<void> =>
  db.run("UPDATE meta SET value = ? WHERE key = 'audit_head'", [value]);

function verifyJson(s: DbSetup, ...extra: string[]): { code: number | null; out: Row } {
  const r = s.run(['audit', 'verify', '--json', ...extra]);
  return { code: r.code, out: JSON.parse(r.stdout) as Row };
}

function expectRefused(r: RunResult): void {
  expect(r.code, r.stderr).toBe(4);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain('the audit log was changed outside coffer');
  expect(r.stderr).toContain('coffer audit verify');
  expect(r.stderr).toContain('coffer audit acknowledge');
}

for (const [backend, make] of dbBackends('audit tail tests on PostgreSQL')) {
  describe(`the audit tail on ${backend}`, () => {
    it('a cut tail fails closed until acknowledged, and the break stays listed', async () => {
      const s = await prepared(make);
      try {
        const end = await lastSeq(s.db);
        await cutFrom(s.db, end);
        expectRefused(s.run(['list']));
        expectRefused(s.run(['get', PATH]));
        // Failing commands wrote nothing: the table still ends where the cut left it.
        expect(await lastSeq(s.db)).toBe(end - 1);
        const broken = verifyJson(s);
        expect(broken.code).toBe(4);
        expect(broken.out).toMatchObject({ ok: false, problem: { seq: end } });
        expect(String((broken.out.problem as Row).reason)).toContain('missing');

        const ack = s.run(['audit', 'acknowledge', '--reason', 'tail cut in a drill', '--json']);
        expect(ack.code, ack.stderr).toBe(0);
        expect(JSON.parse(ack.stdout)).toMatchObject({
          seq: end,
          reason: 'tail cut in a drill',
          storedHead: { seq: end },
          tableEnd: { seq: end - 1 },
          headMac: 'valid',
        });

        expect(s.run(['list']).code).toBe(0);
        expect(s.run(['get', PATH]).stdout).toBe(`${VALUE}\n`);
        const intact = verifyJson(s);
        expect(intact.code).toBe(0);
        expect(intact.out).toMatchObject({ ok: true, head: 'authenticated' });
        expect(intact.out.acknowledged).toEqual([
          expect.objectContaining({
            seq: end,
            reason: 'tail cut in a drill',
            storedHead: expect.objectContaining({ seq: end }),
            tableEnd: expect.objectContaining({ seq: end - 1 }),
          }),
        ]);
        const text = s.run(['audit', 'verify']);
        expect(text.stderr).toContain('chain intact');
        expect(text.stderr).toContain(`acknowledged break at record ${end}`);
        expect(text.stderr).toContain('reason: tail cut in a drill');

        // Nothing left to acknowledge: a clear refusal (exit 5), itself audited.
        const again = s.run(['audit', 'acknowledge', '--reason', 'again']);
        expect(again.code).toBe(5);
        expect(again.stderr).toContain('nothing to acknowledge');
        expect(verifyJson(s).code).toBe(0);
      } finally {
        await s.cleanup();
      }
    });

    it('a cut of several records is refused the same way', async () => {
      const s = await prepared(make);
      try {
        for (let i = 0; i < 3; i++) expect(s.run(['list']).code).toBe(0);
        const end = await lastSeq(s.db);
        await cutFrom(s.db, end - 2);
        expectRefused(s.run(['list']));
        expect(verifyJson(s).out).toMatchObject({ ok: false, problem: { seq: end - 2 } });
      } finally {
        await s.cleanup();
      }
    });

    it('a head edited without the master key is detected', async () => {
      const s = await prepared(make);
      try {
        const end = await lastSeq(s.db);
        await cutFrom(s.db, end);
        const [last] = await s.db.all('SELECT seq, hash FROM audit WHERE seq = ?', [end - 1]);
        const consistent = `${last!.seq}:${last!.hash}`;
        const forged = createHmac('sha256', 'not the key').update(consistent).digest('hex');
        for (const head of [
          `${consistent}:${forged}`, // a MAC made without the master key
          consistent, // the MAC stripped: a vault born authenticated never goes back
          'garbage',
        ]) {
          await setHead(s.db, head);
          expectRefused(s.run(['list']));
          expect(verifyJson(s).code).toBe(4);
        }
        await s.db.run("DELETE FROM meta WHERE key = 'audit_head'");
        expectRefused(s.run(['list']));
      } finally {
        await s.cleanup();
      }
    });

    it('a checkpoint kept elsewhere: round trip, a cut below it, an edited one', async () => {
      const s = await prepared(make);
      try {
        const head = s.run(['audit', 'head']);
        expect(head.code, head.stderr).toBe(0);
        const file = join(s.home, 'offsite.checkpoint');
        writeFileSync(file, head.stdout);
        const cp = JSON.parse(s.run(['audit', 'head', '--json']).stdout) as Row;
        expect(cp).toMatchObject({ format: 'coffer-audit-checkpoint/v1', seq: expect.any(Number) });
        expect(head.stdout.split(' ')[1]).toBe(String(cp.seq));
        for (let i = 0; i < 2; i++) expect(s.run(['list']).code).toBe(0);
        const ok = verifyJson(s, '--checkpoint', file);
        expect(ok.code).toBe(0);
        expect(ok.out.checkpoint).toMatchObject({ seq: cp.seq, ok: true });

        // An edited checkpoint: its MAC no longer matches.
        const edited = join(s.home, 'edited.checkpoint');
        writeFileSync(edited, head.stdout.replace(/ \d+ /, ' 1 '));
        const bad = verifyJson(s, '--checkpoint', edited);
        expect(bad.code).toBe(4);
        expect(String((bad.out.checkpoint as Row).reason)).toContain('MAC');

        // Cut below the checkpoint and acknowledged: the chain is intact again, but it no
        // longer holds the checkpoint's record.
        await cutFrom(s.db, Number(cp.seq));
        expect(s.run(['audit', 'acknowledge', '--reason', 'drill']).code).toBe(0);
        expect(verifyJson(s).code).toBe(0);
        const cut = verifyJson(s, '--checkpoint', file);
        expect(cut.code).toBe(4);
        expect(cut.out).toMatchObject({ ok: false, checkpoint: { ok: false } });
        expect(String((cut.out.checkpoint as Row).reason)).toMatch(/differs|cut below/);

        // Cut further, below the checkpoint's record, with nothing grown back yet.
        await cutFrom(s.db, Number(cp.seq) - 1);
        const below = verifyJson(s, '--checkpoint', file);
        expect(below.code).toBe(4);
        expect(String((below.out.checkpoint as Row).reason)).toContain('cut below');
        expect(s.run(['audit', 'head']).code).toBe(4);
      } finally {
        await s.cleanup();
      }
    });
  });
}

describe('the audit head on SQLite: wrong keys and vaults from before the MAC', () => {
  /** The hash of a record as docs/format.md defines it. */
  const hashOf = (r: Row, prevHash: string): string =>
    createHash('sha256')
      .update(
        JSON.stringify([
          r.seq,
          r.ts,
          r.actor,
          r.action,
          r.path,
          r.env,
          r.version,
          r.outcome,
          r.detail,
          prevHash,
        ]),
      )
      .digest('hex');

  it('the denial of a wrong master key is recorded and breaks nothing', async () => {
    const s = await prepared(sqliteSetup);
    const wrong = makeHome();
    const r = wrong.run(['get', PATH], {
      env: { COFFER_HOME: join(s.home, '.coffer'), COFFER_MASTER_KEY: randomMasterKey() },
    });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('wrong master key');
    const [last] = await s.db.all('SELECT outcome, detail FROM audit ORDER BY seq DESC LIMIT 1');
    expect(last).toEqual({ outcome: 'denied', detail: 'WRONG_KEY' });
    expect(verifyJson(s).code).toBe(0);
    expect(s.run(['list']).code).toBe(0);
    expect(verifyJson(s).out).toMatchObject({ ok: true, head: 'authenticated' });
  });

  it('a head without a MAC (an older vault) is authenticated once, and never downgraded', async () => {
    const s = await prepared(sqliteSetup);
    // Make it look like a vault written before heads had a MAC: the init record as it was
    // then, the chain recomputed, the head as "seq:hash".
    const rows = await s.db.all('SELECT * FROM audit ORDER BY seq');
    let prev = '0'.repeat(64);
    for (const r of rows) {
      if (r.action === 'init')
        r.detail = String(r.detail).replace(
          /, audit head authenticated( and bound to the vault)?$/,
          '',
        );
      r.prev_hash = prev;
      r.hash = hashOf(r, prev);
      prev = String(r.hash);
      await s.db.run('UPDATE audit SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?', [
        r.detail,
        r.prev_hash,
        r.hash,
        r.seq,
      ]);
    }
    await setHead(s.db, `${rows.at(-1)!.seq}:${prev}`);
    expect(verifyJson(s).out).toMatchObject({ ok: true, head: 'legacy' });

    expect(s.run(['list']).code).toBe(0);
    expect((await storedHead(s.db)).split(':')).toHaveLength(3);
    const actions = (await s.db.all('SELECT action FROM audit ORDER BY seq')).map((r) => r.action);
    expect(actions.slice(-2)).toEqual(['audit_upgrade', 'list']);
    expect(verifyJson(s).out).toMatchObject({ ok: true, head: 'authenticated' });

    // Stripping the MAC now (with the tail cut to match) is refused: the upgrade is on record.
    const end = await lastSeq(s.db);
    await cutFrom(s.db, end);
    const [last] = await s.db.all('SELECT seq, hash FROM audit WHERE seq = ?', [end - 1]);
    await setHead(s.db, `${last!.seq}:${last!.hash}`);
    expectRefused(s.run(['list']));
  });
});
