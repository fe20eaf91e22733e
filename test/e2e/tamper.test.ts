/**
 * Tampering with the vault file outside coffer: flipped bytes, moved ciphertexts, edited,
 * removed or reordered audit records, and an audit log that refuses writes. Reading must
 * fail with exit 4 (never print other bytes); the audit chain must name the first bad record.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeHome, STRIPE_DESCRIPTION } from './harness.js';

const PATH = 'project/consilio/stripe_api_key';
const VALUE = 'sk_live_abc123xyz';

function setup() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  expect(h.run(['set', PATH, '-d', STRIPE_DESCRIPTION], { input: VALUE }).code).toBe(0);
  expect(
    h.run(['set', 'project/consilio/other_key', '-d', 'Other API key for the reports job'], {
      input: 'other-value-123',
    }).code,
  ).toBe(0);
  const file = join(h.env.COFFER_HOME!, 'vault.db');
  const db = () => new Database(file);
  return { h, db };
}

function mutate(open: () => Database.Database, fn: (db: Database.Database) => void): void {
  const db = open();
  try {
    fn(db);
  } finally {
    db.close();
  }
}

describe('tampered secrets fail with exit 4', () => {
  it('a flipped bit anywhere in the sealed value or the wrapped data key', () => {
    const { h, db } = setup();
    const original = (() => {
      const d = db();
      const row = d
        .prepare('SELECT wrapped_dek, ciphertext FROM secret_versions WHERE path = ?')
        .get(PATH) as {
        wrapped_dek: Buffer;
        ciphertext: Buffer;
      };
      d.close();
      return row;
    })();
    fc.assert(
      fc.property(
        fc.constantFrom('wrapped_dek', 'ciphertext'),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (column, pos, bit) => {
          const bytes = Buffer.from(original[column as 'ciphertext']);
          const i = pos % bytes.length;
          bytes[i] = bytes[i]! ^ (1 << bit);
          mutate(db, (d) =>
            d.prepare(`UPDATE secret_versions SET ${column} = ? WHERE path = ?`).run(bytes, PATH),
          );
          const r = h.run(['get', PATH]);
          mutate(db, (d) =>
            d
              .prepare(`UPDATE secret_versions SET ${column} = ? WHERE path = ?`)
              .run(original[column as 'ciphertext'], PATH),
          );
          expect(r.code).toBe(4);
          expect(r.stdout).toBe('');
          expect(r.stderr).not.toContain(VALUE);
        },
      ),
      { numRuns: 12 },
    );
    const verify = h.run(['verify', '--all']);
    expect(verify.code).toBe(0);
    expect(h.run(['get', PATH]).stdout).toBe(`${VALUE}\n`);
  });

  it('a ciphertext copied onto another path, or another version, fails', () => {
    const { h, db } = setup();
    expect(h.run(['set', PATH], { input: 'second-version-value' }).code).toBe(0);
    mutate(db, (d) => {
      const src = d
        .prepare(
          'SELECT wrapped_dek, ciphertext FROM secret_versions WHERE path = ? AND version = 1',
        )
        .get(PATH) as Record<string, Buffer>;
      d.prepare('UPDATE secret_versions SET wrapped_dek = ?, ciphertext = ? WHERE path = ?').run(
        src.wrapped_dek,
        src.ciphertext,
        'project/consilio/other_key',
      );
      d.prepare(
        'UPDATE secret_versions SET wrapped_dek = ?, ciphertext = ? WHERE path = ? AND version = 2',
      ).run(src.wrapped_dek, src.ciphertext, PATH);
    });
    for (const [p, v] of [
      ['project/consilio/other_key', '1'],
      [PATH, '2'],
    ]) {
      const r = h.run(['get', p!, '--version', v!]);
      expect(r.code).toBe(4);
      expect(r.stdout).toBe('');
    }
    expect(h.run(['get', PATH, '--version', '1']).stdout).toBe(`${VALUE}\n`);
    const verify = h.run(['verify', '--all', '--json']);
    expect(verify.code).toBe(4);
    expect(JSON.parse(verify.stdout).failures).toHaveLength(2);
  });

  it('a damaged sealed key-encryption key fails with exit 4', () => {
    const { h, db } = setup();
    mutate(db, (d) => {
      const row = d.prepare("SELECT sealed FROM keks WHERE id = 'k1'").get() as { sealed: Buffer };
      const b = Buffer.from(row.sealed);
      b[20] = b[20]! ^ 1;
      d.prepare("UPDATE keks SET sealed = ? WHERE id = 'k1'").run(b);
    });
    const r = h.run(['get', PATH]);
    expect(r.code).toBe(4);
    // The keyring row's MAC covers the sealed bytes, so the row is refused before it is opened.
    expect(r.stderr).toContain('key-encryption key k1 failed its integrity check');
    expect(r.stdout).toBe('');
  });
});

describe('audit verify detects tampering', () => {
  const cases: [string, (d: Database.Database) => void, RegExp][] = [
    [
      'a changed record',
      (d) => d.prepare("UPDATE audit SET actor = 'cli:someone-else' WHERE seq = 3").run(),
      /record 3 was changed/,
    ],
    [
      'a deleted record',
      (d) => d.prepare('DELETE FROM audit WHERE seq = 2').run(),
      /record 2 is missing/,
    ],
    [
      'two swapped records',
      (d) => {
        const cols = 'ts, actor, action, path, env, version, outcome, detail, prev_hash, hash';
        const a = d.prepare(`SELECT ${cols} FROM audit WHERE seq = 2`).get() as Record<
          string,
          unknown
        >;
        const b = d.prepare(`SELECT ${cols} FROM audit WHERE seq = 3`).get() as Record<
          string,
          unknown
        >;
        const upd = d.prepare(
          'UPDATE audit SET ts=@ts, actor=@actor, action=@action, path=@path, env=@env, version=@version, outcome=@outcome, detail=@detail, prev_hash=@prev_hash, hash=@hash WHERE seq=@seq',
        );
        upd.run({ ...b, seq: 2 });
        upd.run({ ...a, seq: 3 });
      },
      /record 2/,
    ],
    [
      'the last record removed',
      (d) => d.prepare('DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)').run(),
      /missing/,
    ],
  ];
  for (const [name, tamper, reason] of cases) {
    it(name, () => {
      const { h, db } = setup();
      expect(h.run(['get', PATH]).code).toBe(0);
      expect(h.run(['audit', 'verify']).code).toBe(0);
      mutate(db, tamper);
      const r = h.run(['audit', 'verify', '--json']);
      expect(r.code).toBe(4);
      const out = JSON.parse(r.stdout);
      expect(out.ok).toBe(false);
      expect(out.problem.reason).toMatch(reason);
    });
  }
});

describe('fail closed when the audit log cannot be written', () => {
  it('set fails, nothing changes, and get refuses to return the value unaudited', () => {
    const { h, db } = setup();
    mutate(db, (d) =>
      d.exec(
        "CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk full'); END",
      ),
    );
    const set = h.run(['set', PATH], { input: 'new-value-that-must-not-land' });
    expect(set.code).toBe(1);
    expect(set.stderr).toContain('audit record could not be written');
    const get = h.run(['get', PATH]);
    expect(get.code).toBe(1);
    expect(get.stdout).toBe('');
    mutate(db, (d) => d.exec('DROP TRIGGER no_audit'));
    expect(h.run(['get', PATH]).stdout).toBe(`${VALUE}\n`);
    expect(JSON.parse(h.run(['history', PATH, '--json']).stdout).current).toBe(1);
    expect(h.run(['audit', 'verify']).code).toBe(0);
  });
});
