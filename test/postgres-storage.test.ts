/**
 * The PostgreSQL backend: the shared storage contract in a throw-away schema, plus what only
 * a server database can get wrong (migrations under concurrent start-up, the lock timeout,
 * connection failures and the password in messages, NUL in text, dropped connections).
 *
 * Runs only when COFFER_TEST_DATABASE_URL names a database (`.ci/run` sets it); otherwise
 * the skip is reported by name in vitest's output and on stderr.
 */
import { once } from 'node:events';
import { connect, createServer as createNetServer } from 'node:net';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CofferError, type ErrorCode } from '../src/core/errors.js';
import { POSTGRES_MIGRATIONS } from '../src/storage/postgres/migrations.js';
import {
  openPostgresStorage,
  type PostgresStorage,
  type PostgresStorageOptions,
} from '../src/storage/postgres/postgres-storage.js';
import {
  dropPostgresSchema,
  postgresStorageFactory,
  throwAwaySchema,
} from './helpers/storage-factories.js';
import { describeStorageContract } from './storage-contract.js';

const url = process.env.COFFER_TEST_DATABASE_URL;

if (!url) {
  console.warn('SKIPPED PostgreSQL storage tests: set COFFER_TEST_DATABASE_URL to run them');
  it.skip('PostgreSQL storage tests (skipped: COFFER_TEST_DATABASE_URL is not set)', () => {});
}

async function rejection(p: Promise<unknown>, code: ErrorCode): Promise<CofferError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected CofferError ${code}`).toBeInstanceOf(CofferError);
  expect((err as CofferError).code).toBe(code);
  return err as CofferError;
}

/** A URL with a user and password (the test server trusts any password). */
function withPassword(base: string, password: string): string {
  const u = new URL(base);
  u.username = u.username || 'postgres';
  u.password = password;
  return u.toString();
}

describe.skipIf(!url)('PostgreSQL storage', () => {
  describeStorageContract('postgres', postgresStorageFactory(url!));

  let schema: string;
  let opened: PostgresStorage[];
  let admin: pg.Client;

  const open = async (options: PostgresStorageOptions = {}, at = url!) => {
    const s = await openPostgresStorage(at, { schema, poolSize: 3, ...options });
    opened.push(s);
    return s;
  };

  beforeEach(async () => {
    schema = throwAwaySchema();
    opened = [];
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });

  afterEach(async () => {
    for (const s of opened) await s.close();
    await admin.end();
    await dropPostgresSchema(url!, schema);
  });

  const schemaExists = async () =>
    (await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount === 1;

  it('opening a missing schema without `create` throws VAULT_NOT_FOUND and creates nothing', async () => {
    const err = await rejection(open(), 'VAULT_NOT_FOUND');
    expect(err.message).toContain(`schema=${schema}`);
    expect(await schemaExists()).toBe(false);
  });

  it('creates the schema and records each migration once, however often it is reopened', async () => {
    const first = await open({ create: true });
    await first.transaction('write', (tx) => tx.setMeta('kept', 'yes'));
    const versions = async () =>
      (
        await admin.query(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`)
      ).rows.map((r) => r.version);
    const want = POSTGRES_MIGRATIONS.map((_, i) => i + 1);
    expect(await versions()).toEqual(want);
    for (let i = 0; i < 3; i++) {
      const again = await open();
      expect(await again.transaction('read', (tx) => tx.getMeta('kept'))).toBe('yes');
    }
    expect(await versions()).toEqual(want);
  });

  it('six instances starting at once on a new schema all open it, and migrate it once', async () => {
    const all = await Promise.all(Array.from({ length: 6 }, () => open({ create: true })));
    const rows = await admin.query(`SELECT version FROM "${schema}".schema_migrations`);
    expect(rows.rowCount).toBe(POSTGRES_MIGRATIONS.length);
    await all[0]!.transaction('write', (tx) => tx.setMeta('m', 'from 0'));
    for (const s of all)
      expect(await s.transaction('read', (tx) => tx.getMeta('m'))).toBe('from 0');
  });

  it('refuses a schema newer than this coffer (UNSUPPORTED_FORMAT)', async () => {
    await open({ create: true });
    await admin.query(`INSERT INTO "${schema}".schema_migrations (version) VALUES ($1)`, [
      POSTGRES_MIGRATIONS.length + 1,
    ]);
    await rejection(open(), 'UNSUPPORTED_FORMAT');
  });

  it('keeps text verbatim in the database unless it holds U+0000 or U+0001', async () => {
    const s = await open({ create: true });
    await s.transaction('write', async (tx) => {
      await tx.setMeta('plain', 'caf\u00e9 \u{1f511} \\ %_');
      await tx.setMeta('nul', 'a\u0000b\u0001c');
    });
    const raw = await admin.query(`SELECT key, value FROM "${schema}".meta ORDER BY key`);
    expect(raw.rows).toEqual([
      { key: 'nul', value: 'a\u0001\u0001b\u0001\u0002c' },
      { key: 'plain', value: 'caf\u00e9 \u{1f511} \\ %_' },
    ]);
    expect(await s.transaction('read', (tx) => tx.getMeta('nul'))).toBe('a\u0000b\u0001c');
  });

  it('names the store with its password redacted, in `location` and in errors', async () => {
    const password = 'Pg-Sentinel-Pw-9731';
    const s = await open({ create: true }, withPassword(url!, password));
    expect(s.location).not.toContain(password);
    expect(s.location).toContain(':***@');
    expect(s.kind).toBe('postgres');
    const closed = withPassword('postgres://127.0.0.1:1/none', password);
    const err = await rejection(
      openPostgresStorage(closed, { schema, connectTimeoutMs: 2000 }),
      'STORE_ERROR',
    );
    expect(err.message).toContain('ECONNREFUSED');
    expect(`${err.message} ${err.hint}`).not.toContain(password);
    const noDb = new URL(withPassword(url!, password));
    noDb.pathname = `/${throwAwaySchema('no_such_db')}`;
    const err2 = await rejection(openPostgresStorage(noDb.toString(), { schema }), 'STORE_ERROR');
    expect(err2.message).toContain('3D000');
    expect(err2.message).not.toContain(password);
    // libpq-style query parameters can carry the password too: only the schema is shown.
    const inQuery = new URL('postgres://coffer@127.0.0.1:1/none');
    inQuery.searchParams.set('password', password);
    inQuery.searchParams.set('sslpassword', password);
    const err3 = await rejection(
      openPostgresStorage(inQuery.toString(), { schema, connectTimeoutMs: 2000 }),
      'STORE_ERROR',
    );
    expect(err3.message).not.toContain(password);
    expect(err3.message).toContain(`schema=${schema}`);
  });

  it('a database that stops answering: the writer fails in bounded time and the server frees its lock', async () => {
    // A relay between coffer and PostgreSQL that can drop every byte (a frozen server, or a
    // network that loses packets without a reset).
    let frozen = false;
    // What the client sent while the relay dropped it: a ROLLBACK there would have waited as
    // long as the statement before it.
    let sentWhileFrozen = '';
    const target = new URL(url!);
    const relay = createNetServer((c) => {
      const s = connect(Number(target.port || 5432), target.hostname);
      c.on('data', (d) => {
        if (!frozen) s.write(d);
        else sentWhileFrozen += d.toString('latin1');
      });
      s.on('data', (d) => {
        if (!frozen) c.write(d);
      });
      c.on('error', () => s.destroy());
      s.on('error', () => c.destroy());
      c.on('close', () => s.destroy());
      // Frozen, the server's end of the session does not reach the client either: only the
      // client's own timeout ends the statement.
      s.on('close', () => {
        if (!frozen) c.destroy();
      });
    });
    relay.listen(0, '127.0.0.1');
    await once(relay, 'listening');
    const via = new URL(url!);
    via.hostname = '127.0.0.1';
    via.port = String((relay.address() as { port: number }).port);
    try {
      const direct = await open({ create: true, lockTimeoutMs: 60_000 });
      // The statements the relayed store gives the driver once frozen.
      const issued: string[] = [];
      class RecordingPool extends pg.Pool {
        override async connect(): Promise<pg.PoolClient> {
          const client = await super.connect();
          const query = client.query.bind(client) as (q: unknown) => Promise<unknown>;
          (client as unknown as { query: (q: unknown) => Promise<unknown> }).query = (q) => {
            if (frozen)
              issued.push(typeof q === 'string' ? q : String((q as { text: string }).text));
            return query(q);
          };
          return client;
        }
      }
      const relayed = await open(
        {
          statementTimeoutMs: 4000, // long enough for a busy machine between two statements
          lockTimeoutMs: 60_000,
          loadDriver: async () => ({ ...pg, Pool: RecordingPool }),
        },
        via.toString(),
      );
      const stuck = relayed.transaction('write', async (tx) => {
        await tx.setMeta('first', '1'); // holds the write lock from here on
        frozen = true;
        await tx.setMeta('second', '2'); // never answered
      });
      const err = await rejection(stuck, 'STORE_ERROR');
      expect(err.message).not.toContain('second');
      expect(sentWhileFrozen).not.toContain('ROLLBACK');
      expect(issued.some((q) => q.includes('ROLLBACK'))).toBe(false);
      // The same when the caller wraps the driver's error (as the audit append does).
      frozen = false;
      sentWhileFrozen = '';
      const wrapped = relayed.transaction('write', async (tx) => {
        await tx.setMeta('first', '1');
        frozen = true;
        try {
          await tx.setMeta('second', '2');
        } catch (cause) {
          throw new CofferError('AUDIT_WRITE_FAILED', 'the audit record could not be written', {
            cause,
          });
        }
      });
      await rejection(wrapped, 'AUDIT_WRITE_FAILED');
      expect(issued.some((q) => q.includes('ROLLBACK'))).toBe(false);
      // The server ended the session that sat in its transaction: the lock is free again
      // for the other instance, and nothing of the stuck transaction was kept.
      await direct.transaction('write', (tx) => tx.setMeta('after', 'yes'));
      expect(await direct.transaction('read', (tx) => tx.getMeta('first'))).toBeUndefined();
      expect(await direct.transaction('read', (tx) => tx.getMeta('after'))).toBe('yes');
    } finally {
      frozen = false;
      relay.close();
    }
  }, 60_000);

  it('turns driver errors into CofferErrors that carry no SQL or values', async () => {
    const s = await open({ create: true });
    const v = {
      path: 'project/app/k',
      env: 'dev',
      version: 1,
      kekId: 'kek-sentinel-id',
      wrappedDek: new Uint8Array([1]),
      ciphertext: new Uint8Array([2]),
      createdAt: '2025-01-01T00:00:00.000Z',
      actor: 'actor-sentinel',
    };
    await s.transaction('write', (tx) => tx.insertVersion(v));
    const err = await rejection(
      s.transaction('write', (tx) => tx.insertVersion(v)),
      'STORE_ERROR',
    );
    expect(err.message).toContain('23505');
    for (const leak of ['INSERT', 'secret_versions', 'sentinel', 'project/app/k', 'duplicate']) {
      expect(err.message).not.toContain(leak);
    }
    // The connection went back to the pool in a usable state.
    await s.transaction('write', (tx) => tx.setMeta('after', 'ok'));
    expect(await s.transaction('read', (tx) => tx.getMeta('after'))).toBe('ok');
  });

  it('a writer that waits longer than lockTimeoutMs for another instance gets STORE_LOCKED', async () => {
    const holder = await open({ create: true });
    const waiter = await open({ lockTimeoutMs: 100 });
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const held = holder.transaction('write', async (tx) => {
      await tx.setMeta('holder', '1');
      locked();
      await released;
    });
    await isLocked;
    await rejection(
      waiter.transaction('write', (tx) => tx.setMeta('waiter', '1')),
      'STORE_LOCKED',
    );
    // Readers take no lock, and see only committed data.
    expect(await waiter.transaction('read', (tx) => tx.getMeta('holder'))).toBeUndefined();
    release();
    await held;
    await waiter.transaction('write', (tx) => tx.setMeta('waiter', '1'));
    expect(await holder.transaction('read', (tx) => tx.getMeta('waiter'))).toBe('1');
    expect(await holder.transaction('read', (tx) => tx.getMeta('holder'))).toBe('1');
  });

  it('a read transaction cannot write', async () => {
    const s = await open({ create: true });
    await rejection(
      s.transaction('read', (tx) => tx.setMeta('m', 'x')),
      'STORE_ERROR',
    );
    expect(await s.transaction('read', (tx) => tx.getMeta('m'))).toBeUndefined();
  });

  it('survives connections the server drops: the next transactions reconnect', async () => {
    const app = throwAwaySchema('coffer_app');
    const at = new URL(url!);
    at.searchParams.set('application_name', app);
    const s = await open({ create: true }, at.toString());
    await s.transaction('write', (tx) => tx.setMeta('m', 'before'));
    const killed = await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
      [app],
    );
    expect(killed.rowCount).toBeGreaterThan(0);
    const written: string[] = [];
    for (let i = 0; i < 5; i++) {
      try {
        await s.transaction('write', (tx) => tx.setMeta('m', `after ${i}`));
        written.push(`after ${i}`);
      } catch (err) {
        // Only a dropped connection may fail a transaction, with a clean STORE_ERROR.
        expect((err as CofferError).code).toBe('STORE_ERROR');
      }
    }
    expect(written.length).toBeGreaterThanOrEqual(2);
    expect(await s.transaction('read', (tx) => tx.getMeta('m'))).toBe(written.at(-1));
  });

  it('close() waits for queued transactions, which then persist; later ones are refused', async () => {
    const s = await openPostgresStorage(url!, { schema, create: true });
    const pending = Array.from({ length: 5 }, (_, i) =>
      s.transaction('write', async (tx) => {
        await new Promise((r) => setTimeout(r, 2));
        await tx.setMeta(`k${i}`, String(i));
      }),
    );
    await s.close();
    await Promise.all(pending);
    await rejection(
      s.transaction('read', (tx) => tx.getMeta('k0')),
      'STORE_ERROR',
    );
    const again = await open();
    await again.transaction('read', async (tx) => {
      for (let i = 0; i < 5; i++) expect(await tx.getMeta(`k${i}`)).toBe(String(i));
    });
  });
});
