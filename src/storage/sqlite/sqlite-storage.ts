/**
 * The embedded default backend: one SQLite file (better-sqlite3), WAL journal, versioned
 * migrations. The file is created with mode 0600 and SQLite gives its -wal/-shm files the
 * same mode; a directory this module creates gets 0700.
 *
 * Concurrency: write transactions start with BEGIN IMMEDIATE, so writers in different
 * processes queue on SQLite's lock instead of failing; within one process a promise queue
 * keeps async transactions from interleaving on the connection. Waiting for the lock is done
 * here, polling every few milliseconds with jitter, not by SQLite's busy handler: that one
 * backs off to 100 ms sleeps, so a process that releases and re-takes the lock in a loop
 * (a key rotation's batches) would starve every other writer.
 * Durability: synchronous=FULL, so an acknowledged write survives a process kill and
 * power loss alike.
 *
 * The driver (opening, pragmas, migrations, errors) is sqlite-driver.ts; the operations of a
 * transaction are sqlite-tx.ts.
 */
import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { CofferError } from '../../core/errors.js';
import type { Storage, StorageTx, TxMode, TxOptions } from '../../core/store/storage.js';
import { ReadCache } from './read-cache.js';
import {
  type Database,
  ioError,
  openDatabase,
  type Statement,
  storeError,
} from './sqlite-driver.js';
import { sqliteTx } from './sqlite-tx.js';
import { WalSync } from './wal-sync.js';

export interface SqliteStorageOptions {
  /** Create the file (and its directory) when missing. */
  create?: boolean;
  /** How long a writer waits for another process's lock, in ms. */
  busyTimeoutMs?: number;
  /**
   * Group commit, for a server: commits do not fsync on the event loop; a write transaction
   * settles after an fsync of the WAL done off it and shared with the transactions committed
   * meanwhile, or, with `deferSync`, at once with the fsync following within 10 ms
   * (wal-sync.ts). Without it every COMMIT fsyncs (synchronous=FULL).
   */
  groupCommit?: boolean;
}

/** Opens (or creates) a vault file. Throws VAULT_NOT_FOUND when it is missing. */
export function openSqliteStorage(file: string, options: SqliteStorageOptions = {}): SqliteStorage {
  const stat = existsSync(file) ? statSync(file) : undefined;
  if (stat?.isDirectory()) {
    throw new CofferError('INVALID_ARGUMENT', `${file} is a directory, not a vault file`);
  }
  // An empty file is not a vault either (SQLite would happily turn it into one).
  if (!options.create && (stat === undefined || stat.size === 0)) {
    throw new CofferError('VAULT_NOT_FOUND', `no vault at ${file}`);
  }
  if (stat === undefined) {
    try {
      const dir = dirname(file);
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
      closeSync(openSync(file, 'wx', 0o600));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(file, err);
    }
  }
  const db = openDatabase(file, options.groupCommit === true);
  return new SqliteStorage(
    db,
    file,
    options.busyTimeoutMs ?? 30_000,
    options.groupCommit ? new WalSync(`${file}-wal`) : undefined,
  );
}

/**
 * A store that lives in memory only, gone when closed: somewhere to load and check a backup
 * without writing anything to disk (`coffer backup verify`).
 */
export function openMemoryStorage(): SqliteStorage {
  return new SqliteStorage(openDatabase(':memory:', false), 'memory');
}

export class SqliteStorage implements Storage {
  readonly kind = 'sqlite';
  readonly location: string;
  readonly #db: Database;
  readonly #statements = new Map<string, Statement>();
  #queue: Promise<unknown> = Promise.resolve();
  readonly #tx: StorageTx;
  readonly #busyTimeoutMs: number;
  readonly #walSync: WalSync | undefined;
  /** Rows read and written, kept while no other connection writes (read-cache.ts). */
  readonly #cache = new ReadCache();
  /** `PRAGMA data_version` when the last transaction began: another commit changes it. */
  #dataVersion = -1;
  readonly #dataVersionStmt: Statement;

  /** @internal Use openSqliteStorage (the published types do not name better-sqlite3's). */
  constructor(db: Database, location: string, busyTimeoutMs = 30_000, walSync?: WalSync) {
    this.#db = db;
    this.location = location;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#walSync = walSync;
    this.#tx = this.#cache.wrap(sqliteTx((sql) => this.#stmt(sql)));
    this.#dataVersionStmt = db.prepare('PRAGMA data_version').pluck();
  }

  /** Forgets the read cache when another connection has committed since the last check. */
  #checkDataVersion(): void {
    const version = this.#dataVersionStmt.get() as number;
    if (version !== this.#dataVersion) {
      this.#cache.clear();
      this.#dataVersion = version;
    }
  }

  /** Starts a transaction, waiting for another process's write lock for up to the timeout. */
  async #begin(mode: TxMode): Promise<void> {
    const sql = mode === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN';
    const deadline = Date.now() + this.#busyTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        this.#db.exec(sql);
        return;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if ((code !== 'SQLITE_BUSY' && code !== 'SQLITE_LOCKED') || Date.now() >= deadline) {
          throw storeError(err, this.location);
        }
        // 1-4 ms with jitter: short enough to catch the gaps between another process's
        // transactions, random enough that waiters do not retry in lockstep.
        const delay = Math.min(1 + attempt, 3) * (0.5 + Math.random());
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** The WAL's group commit (open with `groupCommit`), else undefined; for tests, metrics. */
  get walSync(): WalSync | undefined {
    return this.#walSync;
  }

  /** @internal The underlying connection, for tests that tamper with the file on purpose. */
  get database(): Database {
    // Raw SQL through this same connection leaves data_version as it is: stop caching.
    this.#cache.enabled = false;
    this.#cache.clear();
    return this.#db;
  }

  #stmt(sql: string): Statement {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  transaction<T>(mode: TxMode, fn: (tx: StorageTx) => Promise<T>, options?: TxOptions): Promise<T> {
    const sync = this.#walSync;
    const run = async (): Promise<T> => {
      if (sync?.failure !== undefined) throw sync.failure;
      await this.#begin(mode);
      try {
        this.#checkDataVersion();
        const result = await fn(this.#tx);
        this.#db.exec('COMMIT');
        return result;
      } catch (err) {
        // What this transaction wrote into the cache never happened.
        this.#cache.clear();
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
        throw storeError(err, this.location);
      }
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    if (sync === undefined || mode !== 'write') return next;
    // The next transaction may start as soon as this one has committed; only this caller
    // waits for the fsync that makes the commit durable.
    return next.then(async (result) => {
      if (options?.deferSync) sync.soon();
      else await sync.barrier();
      return result;
    });
  }

  async close(): Promise<void> {
    await this.#queue;
    await this.#walSync?.close();
    this.#db.close();
  }
}
