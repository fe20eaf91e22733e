/**
 * The SQLite backend: the shared storage contract on a temp file, plus what only a file can
 * get wrong (modes, missing or foreign files, migrations, the WAL side files, lock waits).
 */
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CofferError, type ErrorCode } from '../src/core/errors.js';
import { SQLITE_MIGRATIONS } from '../src/storage/sqlite/migrations.js';
import {
  openSqliteStorage,
  SqliteStorage,
  type SqliteStorageOptions,
} from '../src/storage/sqlite/sqlite-storage.js';
import { WalSync } from '../src/storage/sqlite/wal-sync.js';
import { sqliteStorageFactory } from './helpers/storage-factories.js';
import { describeStorageContract } from './storage-contract.js';

describeStorageContract('sqlite', sqliteStorageFactory());

// The server's connection: synchronous=NORMAL, fsyncs off the event loop (wal-sync.ts).
describeStorageContract('sqlite with group commit', sqliteStorageFactory({ groupCommit: true }));

const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8);

function expectCofferError(fn: () => unknown, code: ErrorCode): CofferError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected CofferError ${code}`).toBeInstanceOf(CofferError);
  expect((caught as CofferError).code).toBe(code);
  return caught as CofferError;
}

describe('SQLite storage', () => {
  let dir: string;
  let opened: SqliteStorage[];

  const open = (file: string, options: SqliteStorageOptions = {}): SqliteStorage => {
    const s = openSqliteStorage(file, options);
    opened.push(s);
    return s;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-sqlite-'));
    opened = [];
  });

  afterEach(async () => {
    for (const s of opened) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the file with mode 0600 and each missing directory with 0700', () => {
    const file = join(dir, 'a', 'b', 'vault.db');
    open(file, { create: true });
    expect(mode(file)).toBe('600');
    expect(mode(join(dir, 'a'))).toBe('700');
    expect(mode(join(dir, 'a', 'b'))).toBe('700');
  });

  it('gives the -wal and -shm files mode 0600', async () => {
    const file = join(dir, 'vault.db');
    const s = open(file, { create: true });
    expect(s.database.pragma('journal_mode', { simple: true })).toBe('wal');
    await s.transaction('write', (tx) => tx.setMeta('k', 'v'));
    const sideFiles = [`${file}-wal`, `${file}-shm`].filter((f) => existsSync(f));
    expect(sideFiles).toContain(`${file}-wal`);
    for (const f of sideFiles) expect(mode(f), f).toBe('600');
  });

  it('opening a missing file without `create` throws VAULT_NOT_FOUND and creates nothing', () => {
    const file = join(dir, 'missing', 'vault.db');
    expectCofferError(() => open(file), 'VAULT_NOT_FOUND');
    expectCofferError(() => open(join(dir, 'vault.db'), { create: false }), 'VAULT_NOT_FOUND');
    expect(existsSync(join(dir, 'missing'))).toBe(false);
    expect(existsSync(join(dir, 'vault.db'))).toBe(false);
  });

  it.each([
    ['4 KiB of random bytes', () => randomBytes(4096)],
    ['a short text file', () => Buffer.from('not a database\n')],
    ['100 random bytes', () => randomBytes(100)],
  ])('opening %s throws STORE_CORRUPT and leaves the file alone', (_label, garbage) => {
    const file = join(dir, 'vault.db');
    const content = garbage();
    writeFileSync(file, content, { mode: 0o600 });
    const err = expectCofferError(() => open(file), 'STORE_CORRUPT');
    expect(err.message).toContain(file);
    expectCofferError(() => open(file, { create: true }), 'STORE_CORRUPT');
    expect(readFileSync(file).equals(content)).toBe(true);
  });

  it('refuses a directory path, with or without `create`', () => {
    const sub = join(dir, 'adir');
    mkdirSync(sub);
    expectCofferError(() => open(sub), 'INVALID_ARGUMENT');
    expectCofferError(() => open(sub, { create: true }), 'INVALID_ARGUMENT');
    expect(statSync(sub).isDirectory()).toBe(true);
  });

  it('reopening runs no migration twice: user_version and schema stay the same, data stays', async () => {
    const file = join(dir, 'vault.db');
    const schemaSql = 'SELECT type, name, sql FROM sqlite_master ORDER BY name';
    const first = openSqliteStorage(file, { create: true });
    const version = first.database.pragma('user_version', { simple: true });
    expect(version).toBe(SQLITE_MIGRATIONS.length);
    const schema = first.database.prepare(schemaSql).all();
    expect(schema.length).toBeGreaterThan(0);
    await first.transaction('write', (tx) => tx.setMeta('kept', 'yes'));
    await first.close();
    for (let i = 0; i < 3; i++) {
      const again = openSqliteStorage(file);
      try {
        expect(again.database.pragma('user_version', { simple: true })).toBe(version);
        expect(again.database.prepare(schemaSql).all()).toEqual(schema);
        expect(await again.transaction('read', (tx) => tx.getMeta('kept'))).toBe('yes');
      } finally {
        await again.close();
      }
    }
  });

  it('refuses a vault whose schema is newer than this coffer (UNSUPPORTED_FORMAT)', async () => {
    const file = join(dir, 'vault.db');
    const s = openSqliteStorage(file, { create: true });
    s.database.pragma(`user_version = ${SQLITE_MIGRATIONS.length + 1}`);
    await s.close();
    expectCofferError(() => open(file), 'UNSUPPORTED_FORMAT');
  });

  it('a writer that waits longer than busyTimeoutMs for another connection gets STORE_LOCKED', async () => {
    const file = join(dir, 'vault.db');
    const holder = open(file, { create: true });
    const waiter = open(file, { busyTimeoutMs: 60 });
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
    const started = Date.now();
    const err = await waiter
      .transaction('write', (tx) => tx.setMeta('waiter', '1'))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).code).toBe('STORE_LOCKED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    // Readers are not blocked by the writer (WAL), and see only committed data.
    expect(await waiter.transaction('read', (tx) => tx.getMeta('holder'))).toBeUndefined();
    release();
    await held;
    await waiter.transaction('write', (tx) => tx.setMeta('waiter', '1'));
    expect(await holder.transaction('read', (tx) => tx.getMeta('waiter'))).toBe('1');
  });

  it('turns driver errors into CofferErrors that carry no SQL or values', async () => {
    const s = open(join(dir, 'vault.db'), { create: true });
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
    const err = await s.transaction('write', (tx) => tx.insertVersion(v)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).code).toBe('STORE_ERROR');
    const message = (err as CofferError).message;
    for (const leak of ['INSERT', 'secret_versions', 'sentinel', 'project/app/k']) {
      expect(message).not.toContain(leak);
    }
  });

  describe('group commit', () => {
    const setMeta = (s: SqliteStorage, key: string, options?: { deferSync?: boolean }) =>
      s.transaction('write', (tx) => tx.setMeta(key, 'v'), options);

    it('runs synchronous=FULL without it and NORMAL (plus its own fsyncs) with it', () => {
      const file = join(dir, 'vault.db');
      const full = open(file, { create: true });
      const grouped = open(file, { groupCommit: true });
      expect(full.database.pragma('synchronous', { simple: true })).toBe(2);
      expect(grouped.database.pragma('synchronous', { simple: true })).toBe(1);
      expect(full.walSync).toBeUndefined();
      expect(grouped.walSync).toBeDefined();
    });

    it('a write returns after an fsync of the WAL; reads and deferSync writes do not wait', async () => {
      const s = open(join(dir, 'vault.db'), { create: true, groupCommit: true });
      const sync = s.walSync!;
      await setMeta(s, 'a');
      expect(sync.syncs).toBe(1);
      await s.transaction('read', (tx) => tx.getMeta('a'));
      expect(sync.syncs).toBe(1);
      await setMeta(s, 'b', { deferSync: true });
      expect(sync.syncs).toBe(1);
      // ... and its fsync follows within the flush window (10 ms).
      await new Promise((r) => setTimeout(r, 100));
      expect(sync.syncs).toBe(2);
    });

    it('writes committed while an fsync runs share the next one', async () => {
      const s = open(join(dir, 'vault.db'), { create: true, groupCommit: true });
      await Promise.all(Array.from({ length: 20 }, (_, i) => setMeta(s, `k${i}`)));
      // The first write's fsync, then at most a few more for the 19 committed meanwhile.
      expect(s.walSync!.syncs).toBeGreaterThanOrEqual(2);
      expect(s.walSync!.syncs).toBeLessThan(20);
    });

    it('after a failed fsync nothing more is acknowledged: that transaction and every later one fail', async () => {
      const file = join(dir, 'vault.db');
      const base = open(file, { create: true, groupCommit: true });
      await setMeta(base, 'before');
      const failing = ((_fd: number, cb: (err: NodeJS.ErrnoException) => void) =>
        cb(Object.assign(new Error('I/O error'), { code: 'EIO' }))) as never;
      const s = new SqliteStorage(
        base.database,
        file,
        1000,
        new WalSync(`${file}-wal`, 10, failing),
      );
      const first = await setMeta(s, 'lost').catch((e: unknown) => e);
      expect((first as CofferError).code).toBe('IO_ERROR');
      const later = await setMeta(s, 'later', { deferSync: true }).catch((e: unknown) => e);
      expect(later).toBe(first);
      await expect(s.transaction('read', (tx) => tx.getMeta('before'))).rejects.toBe(first);
      expect(await base.transaction('read', (tx) => tx.getMeta('later'))).toBeUndefined();
    });
  });

  it('close() waits for queued transactions, which then persist', async () => {
    const file = join(dir, 'vault.db');
    const s = openSqliteStorage(file, { create: true });
    const pending = Array.from({ length: 5 }, (_, i) =>
      s.transaction('write', async (tx) => {
        await new Promise((r) => setTimeout(r, 2));
        await tx.setMeta(`k${i}`, String(i));
      }),
    );
    await s.close();
    await Promise.all(pending);
    const again = open(file);
    await again.transaction('read', async (tx) => {
      for (let i = 0; i < 5; i++) expect(await tx.getMeta(`k${i}`)).toBe(String(i));
    });
  });
});
