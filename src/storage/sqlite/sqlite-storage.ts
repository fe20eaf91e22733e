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
 */
import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { CofferError } from '../../core/errors.js';
import type {
  AuditQuery,
  SecretFilter,
  Storage,
  StorageTx,
  TxMode,
  TxOptions,
  WrappedKeyRow,
} from '../../core/store/storage.js';
import { bytes, type Row, rowMappers, SECRET_COLUMNS } from '../rows.js';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { WalSync } from './wal-sync.js';

type Database = BetterSqlite3.Database;

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

const require = createRequire(import.meta.url);

function loadDriver(): { Database: typeof BetterSqlite3; nativeBinding?: string } {
  const Database = BetterSqlite3;
  // Pointing at the addon directly skips the `bindings` package's search of the disk,
  // which is a noticeable part of a short CLI command's start-up.
  try {
    const root = dirname(require.resolve('better-sqlite3/package.json'));
    const addon = join(root, 'build', 'Release', 'better_sqlite3.node');
    if (existsSync(addon)) return { Database, nativeBinding: addon };
  } catch {
    // fall back to the driver's own lookup
  }
  return { Database };
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
  const { Database, nativeBinding } = loadDriver();
  let db: Database;
  try {
    db = new Database(file, {
      // SQLite's own busy handler only covers opening and migrating; see `#begin`.
      timeout: 5_000,
      ...(nativeBinding ? { nativeBinding } : {}),
    });
  } catch (err) {
    throw storeError(err, file);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(options.groupCommit ? 'synchronous = NORMAL' : 'synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    db.pragma('busy_timeout = 0');
  } catch (err) {
    db.close();
    throw storeError(err, file);
  }
  return new SqliteStorage(
    db,
    file,
    options.busyTimeoutMs ?? 30_000,
    options.groupCommit ? new WalSync(`${file}-wal`) : undefined,
  );
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

function ioError(file: string, err: unknown): CofferError {
  return new CofferError('IO_ERROR', `cannot create ${file}: ${(err as Error).message}`, {
    cause: err,
  });
}

/** Translates driver errors into coffer's codes; SQL text and values never reach a message. */
function storeError(err: unknown, location: string): unknown {
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

const { toKek, toSecret, toVersion, toAudit, toToken } = rowMappers({
  text: String,
  bool: (v) => v === 1,
});

/** Audit rows per INSERT statement (11 parameters each; SQLite allows 32,766). */
const AUDIT_CHUNK = 64;

const auditInserts: string[] = [];

/** The INSERT of `n` audit rows (its text is the statement cache's key: made once per n). */
function auditInsertSql(n: number): string {
  let sql = auditInserts[n];
  if (sql === undefined) {
    sql = `INSERT INTO audit (seq, ts, actor, action, path, env, version, outcome, detail, prev_hash, hash)
             VALUES ${Array(n).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`;
    auditInserts[n] = sql;
  }
  return sql;
}

const sqlValue = (v: unknown): unknown => (typeof v === 'boolean' ? (v ? 1 : 0) : v);

export class SqliteStorage implements Storage {
  readonly kind = 'sqlite';
  readonly location: string;
  readonly #db: Database;
  readonly #statements = new Map<string, BetterSqlite3.Statement>();
  #queue: Promise<unknown> = Promise.resolve();
  readonly #tx: StorageTx;
  readonly #busyTimeoutMs: number;
  readonly #walSync: WalSync | undefined;

  constructor(db: Database, location: string, busyTimeoutMs = 30_000, walSync?: WalSync) {
    this.#db = db;
    this.location = location;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#walSync = walSync;
    this.#tx = this.#makeTx();
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

  /** The underlying connection, for tests that tamper with the file on purpose. */
  get database(): Database {
    return this.#db;
  }

  #stmt(sql: string): BetterSqlite3.Statement {
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
        const result = await fn(this.#tx);
        this.#db.exec('COMMIT');
        return result;
      } catch (err) {
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

  #makeTx(): StorageTx {
    const s = (sql: string) => this.#stmt(sql);
    return {
      getMeta: async (key) => {
        const r = s('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined;
        return r === undefined ? undefined : String(r.value);
      },
      setMeta: async (key, value) => {
        s(
          'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        ).run(key, value);
      },
      listKeks: async () =>
        (s('SELECT * FROM keks ORDER BY created_at, id').all() as Row[]).map(toKek),
      getKek: async (id) => {
        const r = s('SELECT * FROM keks WHERE id = ?').get(id) as Row | undefined;
        return r === undefined ? undefined : toKek(r);
      },
      insertKek: async (k) => {
        s(
          'INSERT INTO keks (id, sealed, status, created_at, retired_at, mac) VALUES (?, ?, ?, ?, ?, ?)',
        ).run(k.id, k.sealed, k.status, k.createdAt, k.retiredAt, k.mac ?? null);
      },
      updateKek: async (id, patch) => {
        const cur = s('SELECT * FROM keks WHERE id = ?').get(id) as Row | undefined;
        if (cur === undefined) return;
        const k = { ...toKek(cur), ...patch };
        s('UPDATE keks SET sealed = ?, status = ?, retired_at = ?, mac = ? WHERE id = ?').run(
          k.sealed,
          k.status,
          k.retiredAt,
          k.mac ?? null,
          id,
        );
      },
      countWrappedKeys: async () => {
        const rows = s(
          'SELECT kek_id, COUNT(*) AS n FROM secret_versions GROUP BY kek_id',
        ).all() as Row[];
        return new Map(rows.map((r) => [String(r.kek_id), Number(r.n)]));
      },
      listWrappedKeys: async (kekIds, limit) => {
        const out: WrappedKeyRow[] = [];
        for (const kekId of new Set(kekIds)) {
          if (out.length >= limit) break;
          const rows = s(
            'SELECT id, path, env, version, kek_id, wrapped_dek FROM secret_versions WHERE kek_id = ? LIMIT ?',
          ).all(kekId, limit - out.length) as Row[];
          for (const r of rows) {
            out.push({
              rowId: Number(r.id),
              path: String(r.path),
              env: String(r.env),
              version: Number(r.version),
              kekId: String(r.kek_id),
              wrappedDek: bytes(r.wrapped_dek),
            });
          }
        }
        return out;
      },
      updateWrappedKey: async (rowId, kekId, wrappedDek) => {
        s('UPDATE secret_versions SET kek_id = ?, wrapped_dek = ? WHERE id = ?').run(
          kekId,
          wrappedDek,
          rowId,
        );
      },
      getSecret: async (path, env) => {
        const r = s('SELECT * FROM secrets WHERE path = ? AND env = ?').get(path, env) as
          | Row
          | undefined;
        return r === undefined ? undefined : toSecret(r);
      },
      insertSecret: async (x) => {
        s(
          `INSERT INTO secrets (path, env, description, current_version, tier, rotation, env_var,
             local_only, generator, created_at, updated_at, deleted_at, mac)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          x.path,
          x.env,
          x.description,
          x.currentVersion,
          x.tier,
          x.rotation,
          x.envVar,
          x.localOnly ? 1 : 0,
          x.generator,
          x.createdAt,
          x.updatedAt,
          x.deletedAt,
          x.mac ?? null,
        );
      },
      updateSecret: async (path, env, patch) => {
        const keys = Object.keys(patch).filter((k) => SECRET_COLUMNS[k] !== undefined);
        if (keys.length === 0) return;
        const sets = keys.map((k) => `${SECRET_COLUMNS[k]} = ?`).join(', ');
        const values = keys.map((k) => sqlValue((patch as Record<string, unknown>)[k]));
        s(`UPDATE secrets SET ${sets} WHERE path = ? AND env = ?`).run(...values, path, env);
      },
      listSecrets: async (f: SecretFilter) => {
        const where: string[] = [];
        const args: unknown[] = [];
        if (f.scope !== undefined) {
          // A prefix match on the path; `_` and `%` cannot occur in scope or group names
          // except `_`, which LIKE treats as a wildcard, so compare with substr instead.
          const prefix = f.group !== undefined ? `${f.scope}/${f.group}/` : `${f.scope}/`;
          where.push('substr(path, 1, ?) = ?');
          args.push(prefix.length, prefix);
        }
        if (f.env !== undefined) {
          where.push('env = ?');
          args.push(f.env);
        }
        if (!f.includeDeleted) where.push('deleted_at IS NULL');
        const sql = `SELECT * FROM secrets ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY path, env`;
        return (s(sql).all(...args) as Row[]).map(toSecret);
      },
      insertVersion: async (v) => {
        s(
          `INSERT INTO secret_versions (path, env, version, kek_id, wrapped_dek, ciphertext, created_at, actor)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(v.path, v.env, v.version, v.kekId, v.wrappedDek, v.ciphertext, v.createdAt, v.actor);
      },
      getVersion: async (path, env, version) => {
        const r = s('SELECT * FROM secret_versions WHERE path = ? AND env = ? AND version = ?').get(
          path,
          env,
          version,
        ) as Row | undefined;
        return r === undefined ? undefined : toVersion(r);
      },
      listVersions: async (path, env) =>
        (
          s('SELECT * FROM secret_versions WHERE path = ? AND env = ? ORDER BY version').all(
            path,
            env,
          ) as Row[]
        ).map(toVersion),
      lastAudit: async () => {
        const r = s('SELECT * FROM audit ORDER BY seq DESC LIMIT 1').get() as Row | undefined;
        return r === undefined ? undefined : toAudit(r);
      },
      appendAudit: async (a) => {
        s(
          `INSERT INTO audit (seq, ts, actor, action, path, env, version, outcome, detail, prev_hash, hash)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          a.seq,
          a.ts,
          a.actor,
          a.action,
          a.path,
          a.env,
          a.version,
          a.outcome,
          a.detail,
          a.prevHash,
          a.hash,
        );
      },
      appendAuditBatch: async (records) => {
        // One multi-row INSERT per chunk: a short command such as `coffer run` appends one
        // record per secret read, and one statement is cheaper than fifty.
        for (let i = 0; i < records.length; i += AUDIT_CHUNK) {
          const end = Math.min(records.length, i + AUDIT_CHUNK);
          const params: unknown[] = [];
          for (let j = i; j < end; j++) {
            const a = records[j]!;
            params.push(a.seq, a.ts, a.actor, a.action, a.path, a.env, a.version);
            params.push(a.outcome, a.detail, a.prevHash, a.hash);
          }
          s(auditInsertSql(end - i)).run(params);
        }
      },
      listAudit: async (q: AuditQuery) => {
        const where: string[] = [];
        const args: unknown[] = [];
        if (q.afterSeq !== undefined) {
          where.push(q.descending ? 'seq < ?' : 'seq > ?');
          args.push(q.afterSeq);
        }
        if (q.path !== undefined) {
          where.push('path = ?');
          args.push(q.path);
        }
        const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY seq ${q.descending ? 'DESC' : 'ASC'} LIMIT ?`;
        return (s(sql).all(...args, q.limit ?? 1000) as Row[]).map(toAudit);
      },
      insertToken: async (t) => {
        s(
          `INSERT INTO tokens (id, name, hash, allow, envs, caps, created_at, expires_at, revoked_at, mac)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          t.id,
          t.name,
          t.hash,
          JSON.stringify(t.allow),
          JSON.stringify(t.envs),
          JSON.stringify(t.caps),
          t.createdAt,
          t.expiresAt,
          t.revokedAt,
          t.mac ?? null,
        );
      },
      getToken: async (id) => {
        const r = s('SELECT * FROM tokens WHERE id = ?').get(id) as Row | undefined;
        return r === undefined ? undefined : toToken(r);
      },
      getTokenByName: async (name) => {
        const r = s('SELECT * FROM tokens WHERE name = ?').get(name) as Row | undefined;
        return r === undefined ? undefined : toToken(r);
      },
      listTokens: async () =>
        (s('SELECT * FROM tokens ORDER BY created_at, name').all() as Row[]).map(toToken),
      revokeToken: async (id, revokedAt) =>
        s('UPDATE tokens SET revoked_at = ? WHERE id = ?').run(revokedAt, id).changes > 0,
      updateToken: async (id, patch) => {
        const cur = s('SELECT * FROM tokens WHERE id = ?').get(id) as Row | undefined;
        if (cur === undefined) return false;
        const t = { ...toToken(cur), ...patch };
        s('UPDATE tokens SET revoked_at = ?, mac = ? WHERE id = ?').run(
          t.revokedAt,
          t.mac ?? null,
          id,
        );
        return true;
      },
    };
  }
}
