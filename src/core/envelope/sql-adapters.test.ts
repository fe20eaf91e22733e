/**
 * The SQL adapters of rewrapRows on real databases: SQLite through better-sqlite3 (always),
 * PostgreSQL through pg when COFFER_TEST_DATABASE_URL is set (skipped with a note otherwise),
 * each in its own table with a random suffix. Also identifier checks and context templates.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { decryptJsonBlob, encryptJsonBlob, envelopeKeyId } from './json-blob.js';
import { createKeyring } from './keyring.js';
import { rewrapRows } from './rewrap.js';
import { contextTemplate, DEFAULT_CONTEXT_TEMPLATE, rowContext } from './row-context.js';
import { postgresRewrapAdapter, quoteIdentifier, sqliteRewrapAdapter } from './sql-adapters.js';

const k1 = new Uint8Array(randomBytes(32));
const k2 = new Uint8Array(randomBytes(32));
const old = createKeyring([{ id: 'k1', key: k1 }]);
const both = createKeyring([
  { id: 'k2', key: k2 },
  { id: 'k1', key: k1 },
]);
const only2 = createKeyring([{ id: 'k2', key: k2 }]);
const ref = { table: 'external_accounts', column: 'access_token', idColumn: 'id' };
const context = (id: unknown) => rowContext(ref.table, ref.column, String(id));
const tokens = (i: number) => ({
  access_token: `at-${i}`,
  refresh_token: `rt-${i}`,
  expires_in: i,
});

describe('sqliteRewrapAdapter', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-envelope-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('re-wraps a table in batches, including 64-bit ids, and leaves other columns alone', async () => {
    const db = new Database(join(dir, 'app.db'));
    db.exec(
      'CREATE TABLE external_accounts (id INTEGER PRIMARY KEY, provider TEXT, access_token TEXT)',
    );
    const insert = db.prepare('INSERT INTO external_accounts VALUES (?, ?, ?)');
    const ids = [...Array.from({ length: 300 }, (_, i) => BigInt(i + 1)), 2n ** 62n];
    for (const id of ids) {
      const i = Number(id % 1000n);
      insert.run(
        id,
        'github',
        i % 3 === 0 ? null : encryptJsonBlob(tokens(i), old, { context: context(id) }),
      );
    }
    const r = await rewrapRows(sqliteRewrapAdapter(db, ref), both, { context, batchSize: 64 });
    expect(r.failures).toEqual([]);
    expect(r.scanned).toBe(ids.length);
    expect(r.rewrapped + r.empty).toBe(ids.length);
    const rows = db
      .prepare('SELECT id, provider, access_token FROM external_accounts')
      .safeIntegers(true)
      .all() as Array<{
      id: bigint;
      provider: string;
      access_token: string | null;
    }>;
    for (const row of rows) {
      expect(row.provider).toBe('github');
      if (row.access_token === null) continue;
      expect(envelopeKeyId(row.access_token)).toBe('k2');
      expect(decryptJsonBlob(row.access_token, only2, { context: context(row.id) })).toEqual(
        tokens(Number(row.id % 1000n)),
      );
    }
    const again = await rewrapRows(sqliteRewrapAdapter(db, ref), both, { context });
    expect(again).toMatchObject({ rewrapped: 0, alreadyCurrent: r.rewrapped });
    db.close();
  });

  it('works with text ids and reports conflicts from another connection', async () => {
    const file = join(dir, 'text-ids.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (uid TEXT PRIMARY KEY, blob TEXT)');
    const tref = { table: 't', column: 'blob', idColumn: 'uid' };
    const ctx = contextTemplate('{table}:{id}', 't', 'blob');
    for (const uid of ['a', 'b', 'c'])
      db.prepare('INSERT INTO t VALUES (?, ?)').run(
        uid,
        encryptJsonBlob(uid, old, { context: ctx(uid) }),
      );
    const adapter = sqliteRewrapAdapter(db, tref);
    const app = new Database(file);
    const write = adapter.writeBatch;
    adapter.writeBatch = async (updates) => {
      app
        .prepare('UPDATE t SET blob = ? WHERE uid = ?')
        .run(encryptJsonBlob('app', both, { context: ctx('b') }), 'b');
      return write(updates);
    };
    const r = await rewrapRows(adapter, both, { context: ctx });
    expect(r).toMatchObject({ rewrapped: 2, alreadyCurrent: 1, failures: [] });
    const b = db.prepare('SELECT blob FROM t WHERE uid = ?').get('b') as { blob: string };
    expect(decryptJsonBlob(b.blob, only2, { context: ctx('b') })).toBe('app');
    app.close();
    db.close();
  });

  it('names a missing table or column, and refuses odd identifiers', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE external_accounts (id INTEGER PRIMARY KEY, access_token TEXT)');
    expect(() => sqliteRewrapAdapter(db, { ...ref, table: 'nope' })).toThrow('table not found');
    expect(() => sqliteRewrapAdapter(db, { ...ref, column: 'nope' })).toThrow('column not found');
    expect(() => sqliteRewrapAdapter(db, { ...ref, table: 'x"; DROP TABLE y; --' })).toThrow(
      'plain SQL identifier',
    );
    // A schema-qualified table (PRAGMA wants the schema before its name).
    expect(() =>
      sqliteRewrapAdapter(db, { ...ref, table: 'main.external_accounts' }),
    ).not.toThrow();
    expect(() => sqliteRewrapAdapter(db, { ...ref, table: 'main.nope' })).toThrow(
      'table not found',
    );
    db.close();
  });
});

describe('identifiers and context templates', () => {
  it('quotes plain identifiers and schema.table only', () => {
    expect(quoteIdentifier('public.accounts', 'table', true)).toBe('"public"."accounts"');
    expect(() => quoteIdentifier('public.accounts', 'column')).toThrow();
    expect(() => quoteIdentifier('a b', 'column')).toThrow();
  });

  it('the default template is rowContext; unknown placeholders are refused', () => {
    expect(contextTemplate(DEFAULT_CONTEXT_TEMPLATE, 'tbl', 'col')(7)).toBe(
      rowContext('tbl', 'col', 7),
    );
    // A schema-qualified table gives the context the application builds with the bare name.
    expect(contextTemplate(DEFAULT_CONTEXT_TEMPLATE, 'app.external_accounts', 'tok')(42)).toBe(
      rowContext('external_accounts', 'tok', 42),
    );
    expect(contextTemplate('app.{table}/{column}/{id}', 'app.accounts', 'tok')(1)).toBe(
      'app.accounts/tok/1',
    );
    expect(contextTemplate('{table}.{column}#{id}!{id}', 'a', 'b')('x')).toBe('a.b#x!x');
    expect(contextTemplate('fixed', 'a', 'b')(1)).toBe('fixed');
    expect(() => contextTemplate('{row}', 'a', 'b')).toThrow('only {table}, {column} and {id}');
    expect(() => contextTemplate('{id', 'a', 'b')).toThrow();
  });
});

const pgUrl = process.env.COFFER_TEST_DATABASE_URL;
if (!pgUrl) console.log('postgresRewrapAdapter: skipped (set COFFER_TEST_DATABASE_URL to run it)');

describe.skipIf(!pgUrl)('postgresRewrapAdapter', () => {
  it('re-wraps TEXT and JSONB columns with compare-and-swap writes', async () => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    const table = `envelope_test_${randomBytes(4).toString('hex')}`;
    try {
      await client.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, tok text, doc jsonb)`);
      for (let id = 1; id <= 120; id++) {
        const ctx = (col: string) => rowContext(table, col, id);
        await client.query(`INSERT INTO ${table} VALUES ($1, $2, $3)`, [
          id,
          encryptJsonBlob(tokens(id), old, { context: ctx('tok') }),
          id % 10 === 0 ? null : encryptJsonBlob(tokens(id), old, { context: ctx('doc') }),
        ]);
      }
      for (const column of ['tok', 'doc']) {
        const cref = { table, column, idColumn: 'id' };
        const ctx = (id: unknown) => rowContext(table, column, String(id));
        const r = await rewrapRows(await postgresRewrapAdapter(client, cref), both, {
          context: ctx,
          batchSize: 50,
        });
        expect(r.failures).toEqual([]);
        expect(r.rewrapped + r.empty).toBe(120);
        const { rows } = await client.query(
          `SELECT id::text AS id, ${column}::text AS v FROM ${table}`,
        );
        for (const row of rows as Array<{ id: string; v: string | null }>) {
          if (row.v === null) continue;
          expect(decryptJsonBlob(row.v, only2, { context: ctx(row.id) })).toEqual(
            tokens(Number(row.id)),
          );
        }
      }
      await expect(
        postgresRewrapAdapter(client, { table, column: 'nope', idColumn: 'id' }),
      ).rejects.toThrow('not found');
    } finally {
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      await client.end();
    }
  });
});
