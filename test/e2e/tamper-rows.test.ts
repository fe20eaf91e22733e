/**
 * Direct edits of the rows that decide access or which value is served, made by someone who
 * can write the database but has no master key: every column of the keyring, secret and
 * token tables, one edit at a time, on SQLite and (with COFFER_TEST_DATABASE_URL) on
 * PostgreSQL. Each edit is refused on the next read that meets the row (INTEGRITY_FAILURE,
 * exit 4 / HTTP 500) and reported by a check of the whole vault; no value is served.
 * Also: a forged or un-revoked token through the HTTP app, a deleted current version or
 * master-key check through the binary.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createToken, revokeToken } from '../../src/core/access/index.js';
import { chainAuditRecord } from '../../src/core/audit/chain.js';
import { sealKek, sealSecret } from '../../src/core/crypto/envelope.js';
import { masterKeyCheck } from '../../src/core/crypto/kdf.js';
import { sha256Hex } from '../../src/core/crypto/sha256.js';
import { CofferError } from '../../src/core/errors.js';
import { initVault, Vault } from '../../src/core/index.js';
import type { Storage } from '../../src/core/store/storage.js';
import { createApp } from '../../src/server/app.js';
import { openPostgresStorage } from '../../src/storage/postgres/postgres-storage.js';
import { SQLITE_MIGRATIONS } from '../../src/storage/sqlite/migrations.js';
import { openSqliteStorage, type SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { dropPostgresSchema, throwAwaySchema } from '../helpers/storage-factories.js';
import { makeHome, STRIPE_DESCRIPTION } from './harness.js';
import { reportSkipped, TEST_DATABASE_URL } from './serve-harness.js';

const PATH = 'project/app/db_url';
const VALUE = 'postgres://app:Zq8xW3-secret@db/app';
const SECRET = 'A'.repeat(43);

interface Rig {
  storage: Storage;
  masterKey: Uint8Array;
  /** Runs one statement with `?` placeholders on the raw store. */
  exec(sql: string, ...args: unknown[]): Promise<void>;
  close(): Promise<void>;
}

type Backend = { name: string; make(): Promise<Rig> };

const backends: Backend[] = [
  {
    name: 'sqlite',
    async make() {
      const dir = join(makeHome().home, 'v');
      const storage: SqliteStorage = openSqliteStorage(join(dir, 'vault.db'), { create: true });
      return {
        storage,
        masterKey: new Uint8Array(randomBytes(32)),
        exec: async (sql, ...args) => {
          storage.database.prepare(sql).run(...args);
        },
        close: () => storage.close(),
      };
    },
  },
];
if (TEST_DATABASE_URL !== undefined) {
  const url = TEST_DATABASE_URL;
  backends.push({
    name: 'postgres',
    async make() {
      const schema = throwAwaySchema('coffer_tamper');
      const storage = await openPostgresStorage(url, { schema, create: true, poolSize: 2 });
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`SET search_path TO "${schema}"`);
      return {
        storage,
        masterKey: new Uint8Array(randomBytes(32)),
        exec: async (sql, ...args) => {
          let n = 0;
          await client.query(
            sql.replace(/\?/g, () => `$${++n}`),
            args.map((a) => (typeof a === 'number' ? String(a) : a)),
          );
        },
        close: async () => {
          await storage.close();
          await client.end();
          await dropPostgresSchema(url, schema);
        },
      };
    },
  });
}
reportSkipped('row tampering on PostgreSQL');

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
});

/** A vault with one secret (two versions, full metadata), a live token and a revoked one. */
async function populated(backend: Backend) {
  const rig = await backend.make();
  rigs.push(rig);
  await initVault(rig.storage, { masterKey: rig.masterKey, keySource: 'key', actor: 'test' });
  const vault = new Vault(rig.storage, rig.masterKey, { actor: 'test' });
  await vault.set(PATH, 'dev', 'old-value-1', { description: STRIPE_DESCRIPTION });
  await vault.set(PATH, 'dev', VALUE, {
    metadata: { tier: 2, rotation: '90d', envVar: 'APP_DB', generator: 'hex:16' },
  });
  const live = await createToken(vault, { name: 'narrow', allow: [PATH], caps: ['read'] });
  await createToken(vault, { name: 'gone', allow: ['**'], caps: ['read', 'admin'] });
  await revokeToken(vault, 'gone');
  const agent = await createToken(vault, {
    name: 'agent',
    allow: [PATH],
    caps: ['read'],
    reveal: 'never',
  });
  vault.close();
  return { rig, live: live.token, agent: agent.token };
}

/** A vault object with nothing cached (another process, or the next command). */
const fresh = (rig: Rig) => new Vault(rig.storage, rig.masterKey, { actor: 'test:next' });

/** GET the test secret (dev) from `app` with `token`, from a loopback address. */
const getSecret = (app: ReturnType<typeof createApp>, token: string) =>
  app.request(
    `http://coffer.test/v1/secrets/${PATH}?env=dev`,
    { headers: { authorization: `Bearer ${token}` } },
    { incoming: { socket: { remoteAddress: '127.0.0.1' } } },
  );

async function integrity(p: Promise<unknown>): Promise<CofferError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the tampered row was accepted').toBeInstanceOf(CofferError);
  expect((err as CofferError).errorClass).toBe('integrity');
  return err as CofferError;
}

type Read = 'secret' | 'token' | 'kek';
/** [column edit, the read that meets the row] */
const EDITS: [string, string, unknown[], Read][] = [
  ['secrets.description', 'UPDATE secrets SET description = ?', ['Attacker text'], 'secret'],
  ['secrets.current_version (rollback)', 'UPDATE secrets SET current_version = 1', [], 'secret'],
  ['secrets.tier', 'UPDATE secrets SET tier = 1', [], 'secret'],
  // Past 2^53: valid in SQLite's INTEGER and PostgreSQL's bigint, held by no JS number.
  [
    'secrets.current_version (2^62)',
    'UPDATE secrets SET current_version = 4611686018427387904',
    [],
    'secret',
  ],
  ['secrets.tier (2^62)', 'UPDATE secrets SET tier = 4611686018427387904', [], 'secret'],
  ['secrets.tier (-2^63)', 'UPDATE secrets SET tier = -9223372036854775808', [], 'secret'],
  ['secrets.rotation', "UPDATE secrets SET rotation = 'on-compromise'", [], 'secret'],
  ['secrets.env_var', "UPDATE secrets SET env_var = 'NODE_OPTIONS'", [], 'secret'],
  ['secrets.env_var (NULL)', 'UPDATE secrets SET env_var = NULL', [], 'secret'],
  ['secrets.generator', 'UPDATE secrets SET generator = NULL', [], 'secret'],
  [
    'secrets.created_at',
    "UPDATE secrets SET created_at = '2020-01-01T00:00:00.000Z'",
    [],
    'secret',
  ],
  [
    'secrets.updated_at',
    "UPDATE secrets SET updated_at = '2020-01-01T00:00:00.000Z'",
    [],
    'secret',
  ],
  [
    'secrets.deleted_at',
    "UPDATE secrets SET deleted_at = '2020-01-01T00:00:00.000Z'",
    [],
    'secret',
  ],
  ['secrets.mac (NULL)', 'UPDATE secrets SET mac = NULL', [], 'secret'],
  ['secrets.env (moved)', "UPDATE secrets SET env = 'prod'", [], 'secret'],
  ['secrets.path (moved)', "UPDATE secrets SET path = 'project/app/other'", [], 'secret'],
  ['tokens.name', "UPDATE tokens SET name = 'other' WHERE name = 'narrow'", [], 'token'],
  ['tokens.hash', `UPDATE tokens SET hash = ? WHERE name = 'narrow'`, [sha256Hex(SECRET)], 'token'],
  [
    'tokens.allow (widened)',
    `UPDATE tokens SET allow = '["**"]' WHERE name = 'narrow'`,
    [],
    'token',
  ],
  ['tokens.envs', `UPDATE tokens SET envs = '["prod"]' WHERE name = 'narrow'`, [], 'token'],
  [
    'tokens.caps (widened)',
    `UPDATE tokens SET caps = '["read","list","write","delete","admin"]' WHERE name = 'narrow'`,
    [],
    'token',
  ],
  ['tokens.created_at', "UPDATE tokens SET created_at = '2020-01-01T00:00:00.000Z'", [], 'token'],
  ['tokens.expires_at', "UPDATE tokens SET expires_at = '2999-01-01T00:00:00.000Z'", [], 'token'],
  ['tokens.revoked_at (un-revoked)', 'UPDATE tokens SET revoked_at = NULL', [], 'token'],
  ['tokens.id', "UPDATE tokens SET id = '0123456789abcdef' WHERE name = 'narrow'", [], 'token'],
  ['tokens.mac (NULL)', 'UPDATE tokens SET mac = NULL', [], 'token'],
  // An agent's token edited to read values again (`token create --no-reveal` dropped).
  [
    'tokens.reveal (no-reveal dropped)',
    "UPDATE tokens SET reveal = NULL WHERE name = 'agent'",
    [],
    'token',
  ],
  [
    'tokens.reveal (no-reveal added)',
    "UPDATE tokens SET reveal = 'never' WHERE name = 'narrow'",
    [],
    'token',
  ],
  ['keks.status', "UPDATE keks SET status = 'retiring'", [], 'kek'],
  ['keks.created_at', "UPDATE keks SET created_at = '2020-01-01T00:00:00.000Z'", [], 'kek'],
  ['keks.retired_at', "UPDATE keks SET retired_at = '2020-01-01T00:00:00.000Z'", [], 'kek'],
  ['keks.mac (NULL)', 'UPDATE keks SET mac = NULL', [], 'kek'],
];

describe.each(backends)('every column, one edit at a time: $name', (backend) => {
  it.each(EDITS)('%s', async (_name, sql, args, read) => {
    const { rig } = await populated(backend);
    await rig.exec(sql, ...args);
    const vault = fresh(rig);
    if (read === 'secret') {
      await integrity(vault.list({ includeDeleted: true }));
    } else if (read === 'token') {
      await integrity(vault.readTransaction((tx) => tx.listTokens()));
    } else {
      await integrity(vault.get(PATH, 'dev'));
    }
    // Reported by the check of the whole vault too, never as ok.
    const report = await vault.verify();
    expect(report.ok).toBe(false);
    expect(report.rowFailures?.length).toBeGreaterThan(0);
    // The refusal was audited with the row it met.
    const audit = await vault.readTransaction((tx) => tx.listAudit({ descending: true, limit: 5 }));
    expect(audit.some((r) => r.outcome === 'integrity_failure')).toBe(true);
    vault.close();
  });

  it('a sealed KEK edited: refused before it is opened', async () => {
    const { rig } = await populated(backend);
    await rig.exec('UPDATE keks SET sealed = ?', Buffer.alloc(61, 1));
    await integrity(fresh(rig).get(PATH, 'dev'));
  });

  it('a deleted current version is an integrity failure on read and in verify', async () => {
    const { rig } = await populated(backend);
    await rig.exec('DELETE FROM secret_versions WHERE version = 2');
    const vault = fresh(rig);
    const err = await integrity(vault.get(PATH, 'dev'));
    expect(err.message).toContain('version 2 is missing');
    await integrity(vault.readProject('app', 'dev', 'run'));
    const report = await vault.verify();
    expect(report.ok).toBe(false);
    expect(report.failures).toEqual([
      { path: PATH, env: 'dev', version: 2, ok: false, code: 'INTEGRITY_FAILURE' },
    ]);
    expect((await vault.verify(PATH)).ok).toBe(false);
  });

  it('a deleted master-key check is an integrity failure, not "never initialised"', async () => {
    const { rig } = await populated(backend);
    await rig.exec("DELETE FROM meta WHERE key = 'master_check'");
    const err = await integrity(fresh(rig).get(PATH, 'dev'));
    expect(err.code).toBe('INTEGRITY_FAILURE');
  });

  it('the intruder: a token row with a known hash, and an un-revoked token, through the server', async () => {
    const { rig, live } = await populated(backend);
    const vault = fresh(rig);
    const app = createApp({ vault });
    const get = (token: string) => getSecret(app, token);
    expect((await get(live)).status).toBe(200);
    const id = 'feedfacefeedface';
    await rig.exec(
      `INSERT INTO tokens (id, name, hash, allow, envs, caps, created_at, expires_at, revoked_at)
       VALUES (?, 'intruder', ?, '["**"]', '[]', '["read","list","write","delete","admin"]', ?, NULL, NULL)`,
      id,
      sha256Hex(SECRET),
      new Date().toISOString(),
    );
    const forged = await get(`coffer_${id}_${SECRET}`);
    const body = await forged.text();
    expect(forged.status).toBe(500);
    expect(JSON.parse(body).code).toBe('INTEGRITY_FAILURE');
    expect(body).not.toContain(VALUE);
    await rig.exec("UPDATE tokens SET revoked_at = NULL WHERE name = 'gone'");
    const list = await app.request(
      'http://coffer.test/v1/tokens',
      { headers: { authorization: `Bearer ${live}` } },
      { incoming: { socket: { remoteAddress: '127.0.0.1' } } },
    );
    expect(list.status).not.toBe(200);
    const audit = await vault.readTransaction((tx) =>
      tx.listAudit({ descending: true, limit: 20 }),
    );
    expect(audit.some((r) => r.detail?.includes(`tokens ${id}`))).toBe(true);
    vault.close();
  });
});

/**
 * Makes the `secrets` table as loose as someone with the file can make it: re-created without
 * STRICT, so an INTEGER column keeps 1.5, 'abc' or bytes as given (SQLite). PostgreSQL's
 * bigint takes any 64-bit integer as it is.
 */
function loosenSecrets(rig: Rig, backend: Backend): void {
  if (backend.name !== 'sqlite') return;
  const db = (rig.storage as SqliteStorage).database;
  const { sql } = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'secrets'").get() as {
    sql: string;
  };
  db.exec(`ALTER TABLE secrets RENAME TO secrets_strict;
    ${sql.replace(/\)\s*STRICT,\s*WITHOUT ROWID\s*$/, ') WITHOUT ROWID')};
    INSERT INTO secrets SELECT * FROM secrets_strict;
    DROP TABLE secrets_strict;`);
  const after = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'secrets'").get();
  expect((after as { sql: string }).sql).not.toMatch(/STRICT/);
}

/** Values an edit can put in an integer column of each backend. */
const INT64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const COLUMN_VALUES: Record<string, fc.Arbitrary<unknown>> = {
  sqlite: fc.oneof(
    INT64,
    fc.integer({ min: -5, max: 5 }),
    fc.double({ noNaN: true }),
    fc.constantFrom(2 ** 53, 2 ** 62, 1.5, -0.5, '', 'abc', '1', ' 2', '1e3', null),
    fc.string({ maxLength: 6 }),
    fc.uint8Array({ maxLength: 4 }).map((b) => Buffer.from(b)),
  ),
  postgres: fc.oneof(INT64, fc.integer({ min: -5, max: 5 }).map(BigInt), fc.constant(null)),
};

describe.each(backends)('an integer column edited to any value: $name', (backend) => {
  it('property: an integrity failure naming the row, never another error', async () => {
    const { rig } = await populated(backend);
    loosenSecrets(rig, backend);
    const original = (await fresh(rig).get(PATH, 'dev')).version;
    expect(original).toBe(2);
    const columns: [string, unknown][] = [
      ['current_version', 2n],
      ['tier', 2n],
    ];
    if (backend.name === 'sqlite') columns.push(['local_only', 0n]);
    /** Does the column hold what coffer wrote after all ('2' or 2.0 read as 2 by SQLite)? */
    const unchanged = (column: string, before: unknown): boolean => {
      if (backend.name !== 'sqlite') return false;
      const db = (rig.storage as SqliteStorage).database;
      const r = db.prepare(`SELECT ${column} IS ? AS same FROM secrets`).get(before) as {
        same: number;
      };
      return r.same === 1;
    };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...columns),
        COLUMN_VALUES[backend.name]!,
        async ([column, before], value) => {
          if (value === before || (value === null && column !== 'tier')) return; // NOT NULL
          await rig.exec(`UPDATE secrets SET ${column} = ?`, value);
          try {
            if (unchanged(column, before)) return;
            const vault = fresh(rig);
            try {
              const err = await integrity(vault.get(PATH, 'dev'));
              expect(err.message).toContain(`secret ${PATH} (dev) failed its integrity check`);
              await integrity(vault.list({ includeDeleted: true }));
              const report = await vault.verify();
              expect(report.ok).toBe(false);
              expect(report.rowFailures).toEqual([`secrets ${PATH} (dev)`]);
              // Versions are not counted from a row that failed: none is said to be missing.
              expect(report.failures).toEqual([]);
            } finally {
              vault.close();
            }
          } finally {
            await rig.exec(`UPDATE secrets SET ${column} = ?`, before);
          }
        },
      ),
      { numRuns: backend.name === 'sqlite' ? 120 : 40 },
    );
    expect((await fresh(rig).verify()).ok).toBe(true);
  });

  it('a row that fails its MAC lists no missing versions up to its current_version', async () => {
    const { rig } = await populated(backend);
    await rig.exec('UPDATE secrets SET current_version = 1000');
    const report = await fresh(rig).verify();
    expect(report.rowFailures).toEqual([`secrets ${PATH} (dev)`]);
    expect(report.failures).toEqual([]);
    expect(report.checked).toBe(2);
  });

  it('coffer serve answers such a row INTEGRITY_FAILURE (500), audited', async () => {
    const { rig, live } = await populated(backend);
    await rig.exec('UPDATE secrets SET current_version = 4611686018427387904');
    const vault = fresh(rig);
    const res = await getSecret(createApp({ vault }), live);
    const body = await res.text();
    expect(res.status).toBe(500);
    expect(JSON.parse(body).code).toBe('INTEGRITY_FAILURE');
    expect(body).not.toContain(VALUE);
    const audit = await vault.readTransaction((tx) => tx.listAudit({ descending: true, limit: 5 }));
    expect(
      audit.some((r) => r.outcome === 'integrity_failure' && r.detail?.includes(`secrets ${PATH}`)),
    ).toBe(true);
    vault.close();
  });
});

describe.each(backends)('a --no-reveal token through the server: $name', (backend) => {
  it('is refused values (403, audited); its row edited to read them is refused whole', async () => {
    const { rig, agent } = await populated(backend);
    const vault = fresh(rig);
    const refused = await getSecret(createApp({ vault }), agent);
    expect(refused.status).toBe(403);
    expect(await refused.text()).not.toContain(VALUE);
    await rig.exec("UPDATE tokens SET reveal = NULL WHERE name = 'agent'");
    // A fresh server (no cached token record) meets the edited row.
    const again = await getSecret(createApp({ vault: fresh(rig) }), agent);
    const body = await again.text();
    expect(again.status).toBe(500);
    expect(JSON.parse(body).code).toBe('INTEGRITY_FAILURE');
    expect(body).not.toContain(VALUE);
    const audit = await vault.readTransaction((tx) =>
      tx.listAudit({ descending: true, limit: 20 }),
    );
    expect(
      audit.some(
        (r) =>
          r.actor === 'token:agent@127.0.0.1' &&
          r.outcome === 'denied' &&
          r.detail === 'values may not be revealed',
      ),
    ).toBe(true);
    vault.close();
  });
});

describe('through the binary (SQLite): exit 4, nothing printed', () => {
  function setup() {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    expect(h.run(['set', PATH, '-d', STRIPE_DESCRIPTION], { input: 'old-value-1' }).code).toBe(0);
    expect(h.run(['set', PATH], { input: VALUE }).code).toBe(0);
    const file = join(h.env.COFFER_HOME!, 'vault.db');
    const edit = (sql: string) => {
      const db = new Database(file);
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    };
    return { h, edit };
  }

  it.each([
    ['a rolled-back current version', 'UPDATE secrets SET current_version = 1'],
    ['a deleted current version', 'DELETE FROM secret_versions WHERE version = 2'],
    ['a changed env-var name', "UPDATE secrets SET env_var = 'NODE_OPTIONS'"],
  ])('%s', (_name, sql) => {
    const { h, edit } = setup();
    edit(sql);
    const get = h.run(['get', PATH]);
    expect(get.code).toBe(4);
    expect(get.stdout).toBe('');
    expect(get.stderr).not.toContain('old-value-1');
    const run = h.run(['run', '--project', 'app', '--', 'node', '-e', 'process.exit(0)']);
    expect(run.code).toBe(4);
    const verify = h.run(['verify', '--all']);
    expect(verify.code).toBe(4);
  });

  it.each([
    ['current_version 2^62', 'UPDATE secrets SET current_version = 4611686018427387904'],
    ['tier 2^62', 'UPDATE secrets SET tier = 4611686018427387904'],
    ['local_only 2', 'UPDATE secrets SET local_only = 2'],
  ])('a secret row holding %s: exit 4 naming the row, never an internal error', (_name, sql) => {
    const { h, edit } = setup();
    edit(sql);
    for (const args of [
      ['get', PATH],
      ['list'],
      ['history', PATH],
      ['verify', '--all'],
      ['rotation', 'status'],
      ['doctor'],
    ]) {
      const r = h.run(args);
      const what = `${args.join(' ')}: ${r.stderr}`;
      expect(r.code, what).toBe(4);
      expect(r.stderr, what).toContain(`${PATH} (dev)`);
      expect(r.stderr, what).not.toContain('internal error');
      expect(r.stdout + r.stderr, what).not.toContain(VALUE);
    }
    const audit = JSON.parse(h.run(['audit', '--json']).stdout) as {
      records: { action: string; outcome: string; detail: string | null }[];
    };
    const failures = audit.records.filter((r) => r.outcome === 'integrity_failure');
    for (const action of ['get', 'list', 'history', 'verify']) {
      expect(failures.map((r) => r.action)).toContain(action);
    }
    const get = failures.find((r) => r.action === 'get');
    expect(get?.detail).toContain(`secrets ${PATH} (dev)`);
  });

  it('a forged row key is named with its control characters escaped', () => {
    const { h, edit } = setup();
    edit(`UPDATE secrets SET path = 'project/app/x' || char(27) || '[2K' || char(13)`);
    const r = h.run(['list']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('the stored secret project/app/x\\x1b[2K\\x0d (dev) failed');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is tested.
    expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  it('a deleted master_check row: exit 4, not 3', () => {
    const { h, edit } = setup();
    edit("DELETE FROM meta WHERE key = 'master_check'");
    const r = h.run(['get', PATH]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('master-key check');
  });
});

describe('a vault written before row MACs (format 1) migrates once, and only once', () => {
  /** Writes a format-1 vault the way coffer wrote it then: old schema, no MACs. */
  function legacyVault(file: string, masterKey: Buffer): void {
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      for (const sql of SQLITE_MIGRATIONS.slice(0, 3)) db.exec(sql);
      db.pragma('user_version = 3');
      const now = new Date().toISOString();
      const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      meta.run('format', '1');
      meta.run('created_at', now);
      meta.run('key_source', 'key');
      meta.run('master_check', masterKeyCheck(masterKey));
      const kek = randomBytes(32);
      db.prepare(
        "INSERT INTO keks (id, sealed, status, created_at, retired_at) VALUES ('k1', ?, 'primary', ?, NULL)",
      ).run(sealKek(masterKey, 'k1', kek), now);
      const slot = { path: PATH, env: 'dev', version: 1 };
      const sealed = sealSecret(kek, 'k1', Buffer.from(VALUE), slot);
      db.prepare(
        `INSERT INTO secret_versions (path, env, version, kek_id, wrapped_dek, ciphertext, created_at, actor)
         VALUES (?, 'dev', 1, 'k1', ?, ?, ?, 'cli:old')`,
      ).run(PATH, sealed.wrappedDek, sealed.ciphertext, now);
      db.prepare(
        `INSERT INTO secrets (path, env, description, current_version, created_at, updated_at)
         VALUES (?, 'dev', ?, 1, ?, ?)`,
      ).run(PATH, STRIPE_DESCRIPTION, now, now);
      db.prepare(
        `INSERT INTO tokens (id, name, hash, allow, envs, caps, created_at)
         VALUES ('0011223344556677', 'deploy', ?, '["project/app/*"]', '[]', '["read"]', ?)`,
      ).run(sha256Hex(SECRET), now);
      const init = chainAuditRecord(undefined, {
        ts: now,
        actor: 'cli:old',
        action: 'init',
        path: null,
        env: null,
        version: null,
        outcome: 'ok',
        detail: 'key source key, first key k1',
      });
      db.prepare(
        `INSERT INTO audit (seq, ts, actor, action, path, env, version, outcome, detail, prev_hash, hash)
         VALUES (@seq, @ts, @actor, @action, @path, @env, @version, @outcome, @detail, @prevHash, @hash)`,
      ).run(init);
      meta.run('audit_head', `${init.seq}:${init.hash}`);
    } finally {
      db.close();
    }
  }

  it('opens, gets its MACs, verifies; then refuses rows without MACs and a put-back check', () => {
    const h = makeHome();
    const masterKey = randomBytes(32);
    const env = { COFFER_MASTER_KEY: masterKey.toString('base64') };
    const file = join(h.env.COFFER_HOME!, 'vault.db');
    mkdirSync(h.env.COFFER_HOME!, { recursive: true, mode: 0o700 });
    legacyVault(file, masterKey);
    const query = <T>(sql: string): T => {
      const db = new Database(file);
      try {
        return db.prepare(sql).get() as T;
      } finally {
        db.close();
      }
    };
    const edit = (sql: string) => {
      const db = new Database(file);
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    };
    const oldCheck = query<{ value: string }>("SELECT value FROM meta WHERE key = 'master_check'");

    const get = h.run(['get', PATH], { env });
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toBe(`${VALUE}\n`);
    // Row MACs (format 2), then the head bound to the vault in the same transaction (3).
    expect(query<{ value: string }>("SELECT value FROM meta WHERE key = 'format'").value).toBe('3');
    expect(query<{ n: number }>('SELECT count(*) AS n FROM tokens WHERE mac IS NULL').n).toBe(0);
    expect(h.run(['verify', '--all'], { env }).code).toBe(0);
    const tokens = h.run(['token', 'list', '--json'], { env });
    expect(tokens.code, tokens.stderr).toBe(0);
    const audit = JSON.parse(h.run(['audit', '--json'], { env }).stdout);
    const items = audit.records as { action: string }[];
    expect(items.filter((r) => r.action === 'vault.migrate')).toHaveLength(1);
    // A second run migrates nothing.
    expect(h.run(['get', PATH], { env }).code).toBe(0);

    // An attacker's row without a MAC is refused from now on; saying "format 1" changes nothing.
    edit(`UPDATE meta SET value = '1' WHERE key = 'format';
      INSERT INTO tokens (id, name, hash, allow, envs, caps, created_at)
      VALUES ('8899aabbccddeeff', 'intruder', '${sha256Hex(SECRET)}', '["**"]', '[]', '["admin"]', '2030-01-01')`);
    expect(h.run(['token', 'list'], { env }).code).toBe(4);
    expect(h.run(['verify', '--all'], { env }).code).toBe(4);
    expect(h.run(['get', PATH], { env }).code).toBe(0);
    // Putting the old (format-1) check back does not get the forged row MAC'd.
    edit(`UPDATE meta SET value = '${oldCheck.value}' WHERE key = 'master_check'`);
    const again = h.run(['get', PATH], { env });
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('older copy');
  });

  it("a row holding what coffer never writes is refused, not MAC'd, on migration", () => {
    const h = makeHome();
    const masterKey = randomBytes(32);
    const env = { COFFER_MASTER_KEY: masterKey.toString('base64') };
    const file = join(h.env.COFFER_HOME!, 'vault.db');
    mkdirSync(h.env.COFFER_HOME!, { recursive: true, mode: 0o700 });
    legacyVault(file, masterKey);
    const db = new Database(file);
    db.exec('UPDATE secrets SET current_version = 4611686018427387904');
    db.close();
    const get = h.run(['get', PATH], { env });
    expect(get.code, get.stderr).toBe(4);
    expect(get.stderr).toContain(`the stored secret ${PATH} (dev) failed its integrity check`);
    expect(h.run(['verify', '--all'], { env }).code).toBe(4);
  });
});
