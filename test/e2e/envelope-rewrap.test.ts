/**
 * `coffer envelope rewrap` through the built binary on 10,000 rows: killed with SIGKILL
 * midway, then run again, it ends with every row on the primary key and every value
 * unchanged. On SQLite always; on PostgreSQL when COFFER_TEST_DATABASE_URL is set (in a
 * table with a random suffix). Also failures by row id, --dry-run, --json, and the progress
 * bar on a terminal.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  createKeyring,
  decryptJsonBlob,
  encryptJsonBlob,
  envelopeKeyId,
  rowContext,
} from 'coffer/envelope';
import { describe, expect, it } from 'vitest';
import { BIN, finished, makeHome, spawnCoffer } from './harness.js';

const ROWS = 10_000;
const k1 = randomBytes(32);
const k2 = randomBytes(32);
const old = createKeyring([{ id: 'k1', key: k1 }]);
const onlyNew = createKeyring([{ id: 'k2', key: k2 }]);
const KEYS = { COFFER_DATA_KEYS: `k2:${k2.toString('base64')},k1:${k1.toString('base64')}` };
const tokens = (i: number) => ({
  access_token: `at-${i}-${'x'.repeat(i % 50)}`,
  refresh_token: `rt-${i}`,
  expires_in: i,
});

interface Table {
  /** How many rows name key k2 now. */
  onNew(): Promise<number>;
  /** Every (id, stored value). */
  all(): Promise<Array<{ id: string; value: string | null }>>;
  close(): Promise<void>;
}

async function killMidwayThenFinish(args: string[], env: Record<string, string>, table: Table) {
  const child = spawnCoffer(['envelope', 'rewrap', ...args, '--batch', '20'], {
    env: { ...env, ...KEYS },
  });
  let exited = false;
  const exit = finished(child).finally(() => {
    exited = true;
  });
  // Poll the table until a fifth of the rows are on the new key, then kill the process.
  for (let seen = 0, i = 0; i < 3000 && !exited && seen < ROWS / 5; i++) {
    await new Promise((r) => setTimeout(r, 10));
    seen = await table.onNew();
  }
  child.kill('SIGKILL');
  const killed = await exit;
  expect(killed.stderr).toBe('');
  expect(killed.signal).toBe('SIGKILL');
  const atKill = await table.onNew();
  expect(atKill).toBeGreaterThan(0);
  expect(atKill).toBeLessThan(ROWS); // it really was midway

  const again = await finished(
    spawnCoffer(['envelope', 'rewrap', ...args, '--json'], { env: { ...env, ...KEYS } }),
  );
  expect(again.stderr).toBe('');
  expect(again.code).toBe(0);
  const summary = JSON.parse(again.stdout) as Record<string, unknown>;
  expect(summary).toMatchObject({
    primary: 'k2',
    scanned: ROWS,
    failures: [],
    alreadyCurrent: atKill,
  });
  expect(summary.rewrapped).toBe(ROWS - atKill);

  const rows = await table.all();
  expect(rows).toHaveLength(ROWS);
  for (const row of rows) {
    expect(envelopeKeyId(row.value)).toBe('k2');
    const ctx = rowContext('external_accounts', 'access_token', row.id);
    expect(decryptJsonBlob(row.value, onlyNew, { context: ctx })).toEqual(tokens(Number(row.id)));
  }
}

describe('coffer envelope rewrap on SQLite', () => {
  it('killed midway and run again: every row on the primary key, every value unchanged', async () => {
    const { home, env } = makeHome();
    const file = join(home, 'app.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec(
      'CREATE TABLE external_accounts (id INTEGER PRIMARY KEY, provider TEXT, access_token TEXT)',
    );
    const insert = db.prepare('INSERT INTO external_accounts VALUES (?, ?, ?)');
    db.transaction(() => {
      for (let id = 1; id <= ROWS; id++) {
        const ctx = rowContext('external_accounts', 'access_token', id);
        insert.run(id, 'github', encryptJsonBlob(tokens(id), old, { context: ctx }));
      }
    })();
    const count = db.prepare(
      "SELECT count(*) AS n FROM external_accounts WHERE json_extract(access_token, '$.kid') = 'k2'",
    );
    const table: Table = {
      onNew: async () => (count.get() as { n: number }).n,
      all: async () =>
        (
          db.prepare('SELECT id, access_token AS value FROM external_accounts').all() as Array<{
            id: number;
            value: string;
          }>
        ).map((r) => ({ id: String(r.id), value: r.value })),
      close: async () => void db.close(),
    };
    const args = [
      '--database',
      `sqlite:${file}`,
      '--table',
      'external_accounts',
      '--column',
      'access_token',
      '--id-column',
      'id',
    ];
    await killMidwayThenFinish(args, env, table);
    await table.close();
  });

  it('lists failures by row id with a non-zero exit; --dry-run writes nothing', async () => {
    const { home, run } = makeHome();
    const file = join(home, 'small.db');
    const db = new Database(file);
    db.exec('CREATE TABLE accounts (uid TEXT PRIMARY KEY, tok TEXT)');
    const ctx = (id: string) => `accounts.tok#${id}`;
    const stranger = createKeyring([{ id: 'k0', key: randomBytes(32) }]);
    const insert = db.prepare('INSERT INTO accounts VALUES (?, ?)');
    insert.run('a', encryptJsonBlob({ t: 'secret-a' }, old, { context: ctx('a') }));
    insert.run('b', encryptJsonBlob({ t: 'secret-b' }, stranger, { context: ctx('b') }));
    insert.run('c', '{"t":"secret-legacy-plaintext"}');
    db.close();
    const base = [
      'envelope',
      'rewrap',
      '--database',
      file,
      '--table',
      'accounts',
      '--column',
      'tok',
    ];
    const more = ['--id-column', 'uid', '--context-template', '{table}.{column}#{id}'];
    const dry = run([...base, ...more, '--dry-run', '--json'], { env: KEYS });
    expect(dry.code).toBe(1);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      dryRun: true,
      rewrapped: 1,
      failures: [{ id: 'b' }, { id: 'c' }],
    });
    const text = run([...base, ...more, '--allow-plaintext'], { env: KEYS });
    expect(text.code).toBe(1);
    expect(text.stderr).toContain('re-wrapped 1 rows to key k2');
    expect(text.stderr).toContain('1 plaintext encrypted');
    expect(text.stderr).toContain(
      'row b: no key in the keyring has id k0 (was the key rotated away?) [KEY_NOT_FOUND]',
    );
    expect(`${dry.stdout}${text.stderr}`).not.toMatch(/secret-a|secret-b|secret-legacy/);
    const check = new Database(file, { readonly: true });
    const rows = check.prepare('SELECT uid, tok FROM accounts ORDER BY uid').all() as Array<{
      uid: string;
      tok: string;
    }>;
    check.close();
    expect(rows.map((r) => envelopeKeyId(r.tok))).toEqual(['k2', 'k0', 'k2']);
    expect(decryptJsonBlob(rows[2]!.tok, onlyNew, { context: ctx('c') })).toEqual({
      t: 'secret-legacy-plaintext',
    });
  });
});

describe('coffer envelope rewrap of a schema-qualified table', () => {
  function appDb() {
    const { home, run } = makeHome();
    const file = join(home, 'schema.db');
    const db = new Database(file);
    db.exec('CREATE TABLE external_accounts (id INTEGER PRIMARY KEY, access_token TEXT)');
    const insert = db.prepare('INSERT INTO external_accounts VALUES (?, ?)');
    for (let id = 1; id <= 3; id++) {
      // What the application does: rowContext with the table's own name.
      const ctx = rowContext('external_accounts', 'access_token', id);
      insert.run(id, encryptJsonBlob(tokens(id), old, { context: ctx }));
    }
    db.close();
    const args = ['envelope', 'rewrap', '--database', file, '--column', 'access_token'];
    return { file, run, args };
  }

  it('--table main.external_accounts opens rows with the context rowContext gives the app', () => {
    const { file, run, args } = appDb();
    // SQLite's main schema, as app.external_accounts on PostgreSQL.
    const r = run([...args, '--table', 'main.external_accounts', '--json'], { env: KEYS });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ rewrapped: 3, failures: [] });
    const check = new Database(file, { readonly: true });
    const rows = check.prepare('SELECT id, access_token AS v FROM external_accounts').all() as {
      id: number;
      v: string;
    }[];
    check.close();
    for (const row of rows) {
      const ctx = rowContext('external_accounts', 'access_token', row.id);
      expect(decryptJsonBlob(row.v, onlyNew, { context: ctx })).toEqual(tokens(row.id));
    }
  });

  it('every failure line shows the context and the template it came from', () => {
    const { run, args } = appDb();
    const template = 'app.{table}/{column}/{id}';
    const r = run([...args, '--table', 'main.external_accounts', '--context-template', template], {
      env: KEYS,
    });
    expect(r.code).toBe(1);
    for (let id = 1; id <= 3; id++) {
      expect(r.stderr).toContain(
        `row ${id}: decryption failed: the envelope is not authentic [INTEGRITY_FAILURE] ` +
          `(context "app.external_accounts/access_token/${id}" from template ${template})`,
      );
    }
    expect(r.stderr).toContain('coffer: hint: an envelope opens only with the context');
    const json = run(
      [...args, '--table', 'main.external_accounts', '--context-template', template, '--json'],
      {
        env: KEYS,
      },
    );
    expect(JSON.parse(json.stdout)).toMatchObject({
      contextTemplate: template,
      failures: [
        { id: '1', context: 'app.external_accounts/access_token/1' },
        { id: '2' },
        { id: '3' },
      ],
    });
  });
});

// The progress bar is drawn only on a terminal: run the command under a pseudo-terminal with
// util-linux `script` where it exists.
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasScript) {
  console.log('coffer envelope rewrap progress bar: skipped (util-linux `script` not found)');
}

describe.skipIf(!hasScript)('coffer envelope rewrap on a terminal', () => {
  it('draws a progress bar up to 100%, then the summary', () => {
    const { home, env } = makeHome();
    const file = join(home, 'tty.db');
    const db = new Database(file);
    db.exec('CREATE TABLE external_accounts (id INTEGER PRIMARY KEY, access_token TEXT)');
    const insert = db.prepare('INSERT INTO external_accounts VALUES (?, ?)');
    for (let id = 1; id <= 300; id++) {
      const ctx = rowContext('external_accounts', 'access_token', id);
      insert.run(id, encryptJsonBlob(tokens(id), old, { context: ctx }));
    }
    db.close();
    const args = [
      process.execPath,
      BIN,
      ...['envelope', 'rewrap', '--database', file, '--batch', '50'],
      ...['--table', 'external_accounts', '--column', 'access_token'],
    ];
    const quoted = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const r = spawnSync('script', ['-qefc', quoted, '/dev/null'], {
      encoding: 'utf8',
      env: { ...env, ...KEYS },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/re-wrapping rows \[#{30}\] 300\/300 100%/);
    expect(r.stdout).toContain('re-wrapped 300 rows to key k2; 0 already current');
    expect(r.stdout.indexOf('300/300 100%')).toBeLessThan(r.stdout.indexOf('re-wrapped 300'));
  });
});

const pgUrl = process.env.COFFER_TEST_DATABASE_URL;
if (!pgUrl)
  console.log('coffer envelope rewrap on PostgreSQL: skipped (set COFFER_TEST_DATABASE_URL)');

describe.skipIf(!pgUrl)('coffer envelope rewrap on PostgreSQL', () => {
  it('killed midway and run again: every row on the primary key, every value unchanged', async () => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    const schema = `coffer_rewrap_${randomBytes(4).toString('hex')}`;
    try {
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(
        `CREATE TABLE ${schema}.external_accounts (id bigint PRIMARY KEY, access_token text)`,
      );
      for (let first = 1; first <= ROWS; first += 1000) {
        const ids = Array.from({ length: 1000 }, (_, i) => first + i);
        const values = ids.map((id) =>
          encryptJsonBlob(tokens(id), old, {
            context: rowContext('external_accounts', 'access_token', id),
          }),
        );
        await client.query(
          `INSERT INTO ${schema}.external_accounts SELECT * FROM unnest($1::bigint[], $2::text[])`,
          [ids, values],
        );
      }
      const table: Table = {
        onNew: async () =>
          Number(
            (
              await client.query(
                `SELECT count(*) AS n FROM ${schema}.external_accounts WHERE access_token::json->>'kid' = 'k2'`,
              )
            ).rows[0].n,
          ),
        all: async () =>
          (
            await client.query(
              `SELECT id::text AS id, access_token AS value FROM ${schema}.external_accounts`,
            )
          ).rows,
        close: async () => undefined,
      };
      const args = [
        '--database',
        pgUrl!,
        '--table',
        `${schema}.external_accounts`,
        '--column',
        'access_token',
      ];
      const { env } = makeHome();
      await killMidwayThenFinish(args, env, table);
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });
});
