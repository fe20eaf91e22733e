/**
 * The better-sqlite3 driver as the SQLite backend uses it: loading the native addon, opening
 * a vault file (WAL; synchronous FULL, or NORMAL with group commit), running the versioned
 * migrations, and translating driver errors into coffer's codes. SQL text and values never
 * reach a message.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { CofferError } from '../../core/errors.js';
import { SQLITE_MIGRATIONS } from './migrations.js';

export type Database = BetterSqlite3.Database;
export type Statement = BetterSqlite3.Statement;

/** True in the CommonJS CLI bundle only (scripts/build.mjs defines it). */
declare const COFFER_CLI_BUNDLE: boolean | undefined;

/**
 * A `require` that resolves from here: the CLI bundle's own (it is CommonJS, and loading
 * node:module only to make one costs every short command start-up time), else one made for
 * this ES module (Node 20.16 and later), else none. Never a `require` the application put on
 * globalThis: that one resolves from the application's directory, and could load another
 * better-sqlite3's addon than the one coffer's JavaScript expects.
 */
function localRequire(): NodeJS.Require | undefined {
  if (typeof COFFER_CLI_BUNDLE !== 'undefined' && COFFER_CLI_BUNDLE) return require;
  const builtin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const m = builtin?.('node:module') as typeof import('node:module') | undefined;
  return m?.createRequire(import.meta.url);
}

export function loadDriver(): { Database: typeof BetterSqlite3; nativeBinding?: string } {
  const Database = BetterSqlite3;
  // Pointing at the addon directly skips the `bindings` package's search of the disk,
  // which is a noticeable part of a short CLI command's start-up.
  try {
    const resolveFrom = localRequire();
    if (resolveFrom === undefined) return { Database };
    const root = dirname(resolveFrom.resolve('better-sqlite3/package.json'));
    const addon = join(root, 'build', 'Release', 'better_sqlite3.node');
    if (existsSync(addon)) return { Database, nativeBinding: addon };
  } catch {
    // fall back to the driver's own lookup
  }
  return { Database };
}

/** The tables coffer's schema creates (migrations.ts). */
const COFFER_TABLES: ReadonlySet<string> = new Set(
  SQLITE_MIGRATIONS.flatMap((m) => [...m.matchAll(/CREATE TABLE (\w+)/g)].map((x) => x[1]!)),
);

/** The largest file storeFileKind copies to look into. */
const INSPECT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * What `file` holds, found without changing it: `unused`, nothing but what an interrupted
 * `coffer init` leaves (no bytes, or coffer's own tables, all empty); `coffer`, a vault (its
 * tables, with a format entry, a master-key check or a key); `other`, anything else (another
 * program's database, a file that is not SQLite); `unknown`, too large to look into.
 *
 * SQLite cannot open a WAL database read-only without its -shm file, and opening it
 * read-write folds its -wal into it on close: so the file (and its -wal) is copied to a
 * temporary directory and the copy is read.
 */
export function storeFileKind(file: string): 'unused' | 'coffer' | 'other' | 'unknown' {
  const size = statSync(file).size;
  if (size === 0) return 'unused';
  if (size > INSPECT_MAX_BYTES) return 'unknown';
  const dir = mkdtempSync(join(tmpdir(), 'coffer-inspect-'));
  const copy = join(dir, 'store.db');
  const { Database, nativeBinding } = loadDriver();
  let db: Database | undefined;
  try {
    copyFileSync(file, copy);
    if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
    db = new Database(copy, { fileMustExist: true, ...(nativeBinding ? { nativeBinding } : {}) });
    const open = db;
    const tables = (
      open.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
        name: string;
      }[]
    ).map((t) => t.name);
    if (!tables.every((t) => COFFER_TABLES.has(t) || t.startsWith('sqlite_'))) return 'other';
    const has = (sql: string) => {
      try {
        return open.prepare(sql).get() !== undefined;
      } catch {
        return false;
      }
    };
    if (
      has("SELECT 1 FROM meta WHERE key IN ('format', 'master_check') LIMIT 1") ||
      has('SELECT 1 FROM keks LIMIT 1')
    ) {
      return 'coffer';
    }
    const empty = tables
      .filter((t) => COFFER_TABLES.has(t))
      .every((t) => !has(`SELECT 1 FROM "${t}" LIMIT 1`));
    return empty ? 'unused' : 'other';
  } catch {
    return 'other';
  } finally {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Opens a vault file with the backend's pragmas and migrates it; throws coffer's errors. */
export function openDatabase(file: string, groupCommit: boolean): Database {
  const { Database, nativeBinding } = loadDriver();
  let db: Database;
  try {
    db = new Database(file, {
      // SQLite's own busy handler only covers opening and migrating; see SqliteStorage#begin.
      timeout: 5_000,
      ...(nativeBinding ? { nativeBinding } : {}),
    });
  } catch (err) {
    throw storeError(err, file);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(groupCommit ? 'synchronous = NORMAL' : 'synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    db.pragma('busy_timeout = 0');
  } catch (err) {
    db.close();
    throw storeError(err, file);
  }
  return db;
}

function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current === SQLITE_MIGRATIONS.length) return;
  if (current > SQLITE_MIGRATIONS.length) {
    throw new CofferError(
      'UNSUPPORTED_FORMAT',
      `the vault schema is version ${current}, newer than this coffer (${SQLITE_MIGRATIONS.length})`,
    );
  }
  db.exec('BEGIN IMMEDIATE');
  try {
    // Re-read under the lock: another process may have migrated meanwhile.
    const start = db.pragma('user_version', { simple: true }) as number;
    for (let i = start; i < SQLITE_MIGRATIONS.length; i++) db.exec(SQLITE_MIGRATIONS[i]!);
    db.pragma(`user_version = ${SQLITE_MIGRATIONS.length}`);
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

export function ioError(file: string, err: unknown): CofferError {
  return new CofferError('IO_ERROR', `cannot create ${file}: ${(err as Error).message}`, {
    cause: err,
  });
}

/** Translates driver errors into coffer's codes; SQL text and values never reach a message. */
export function storeError(err: unknown, location: string): unknown {
  if (err instanceof CofferError) return err;
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new CofferError(
      'STORE_LOCKED',
      `the vault at ${location} is locked by another process`,
      {
        cause: err,
      },
    );
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN')) {
    // SQLite writes beside the vault: its -wal and -shm files need the same rights, and a
    // run under another user (or a chmod) can leave them read-only after the vault is fixed.
    return new CofferError(
      'STORE_ERROR',
      `the vault at ${location} cannot be ${code.startsWith('SQLITE_READONLY') ? 'written' : 'opened'} (${code})`,
      {
        cause: err,
        hint: `Check that you may read and write ${location} and, beside it, ${location}-wal and ${location}-shm (owner and mode), and the directory they are in.`,
      },
    );
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    return new CofferError(
      'STORE_CORRUPT',
      `the vault file ${location} is damaged or not a vault`,
      {
        cause: err,
      },
    );
  }
  if (code.startsWith('SQLITE_')) {
    return new CofferError('STORE_ERROR', `the vault at ${location} failed (${code})`, {
      cause: err,
    });
  }
  return err;
}
