/**
 * The PostgreSQL backend: several coffer instances (servers, CLI runs) share one database.
 * The driver (`pg`, an optional dependency) is loaded only when a store is opened; each
 * store has a connection pool, its tables live in one schema (`?schema=` in the URL,
 * default `coffer`), and migrations.ts keeps that schema up to date.
 *
 * What holds across instances and processes:
 * - Write transactions serialise globally. Each starts with `pg_advisory_xact_lock` on a key
 *   derived from the schema name, in the same round trip as BEGIN, and the lock is held
 *   until COMMIT or ROLLBACK. Every statement after it runs at READ COMMITTED, so it sees
 *   every write committed before the lock was granted: reading the current version and
 *   inserting the next one, a check-and-set, and reading the audit chain's head and
 *   appending to it are each one uninterrupted step, whichever instance runs them. Version
 *   numbers and audit sequence numbers are also unique keys, as a last line of defence.
 *   Within one instance writers queue in memory first, so at most one connection per
 *   instance waits for the lock and the others stay free for readers.
 * - A committed write is visible to every later transaction on any instance: nothing is
 *   cached here, every read asks the database. (Only the vault's keyring caches unsealed
 *   KEKs by id, and a KEK's bytes never change once written.)
 * - A key rotation on one instance is safe while others serve: each of its batches is an
 *   ordinary write transaction, a data key is re-wrapped and its row updated in one of
 *   them, and a reader on another instance sees either the old or the new wrapping, never
 *   a mix (rows are read in one statement).
 * - Read transactions take no lock: REPEATABLE READ, READ ONLY, one consistent snapshot.
 * - Durability: writes commit with synchronous_commit on, whatever the server's default.
 * - Waiting longer than `lockTimeoutMs` (default 30 s) for the lock gives STORE_LOCKED.
 * - A database that stops answering (a frozen server, a network that drops packets) costs a
 *   bounded wait, never a hang: a statement that gets no answer within `statementTimeoutMs`
 *   (default 60 s) fails on the client (node-postgres' query_timeout), the connection is
 *   dropped rather than returned to the pool, and the server ends a statement running that
 *   long itself (statement_timeout). A session the server sees idle inside a transaction
 *   for that long, such as one whose client vanished, is ended by the server
 *   (idle_in_transaction_session_timeout), which releases the write lock it held, so the
 *   other instances go on. TCP keepalive finds connections whose peer is gone.
 *
 * Data: bytea round-trips exactly; text round-trips any valid UTF-8 through text-escape.ts,
 * since PostgreSQL text cannot hold U+0000. Driver errors become CofferErrors that name the
 * store by its URL with the password replaced by `***` and the error by its SQLSTATE, never
 * by the driver's text (which may quote row values).
 */
import { CofferError } from '../../core/errors.js';
import type { Storage, StorageTx, TxMode, TxOptions } from '../../core/store/storage.js';
import { migrate } from './migrations.js';
import {
  type DatabaseTarget,
  isDriverError,
  loadPg,
  lockKey,
  markDriverError,
  type PgClient,
  type PgPool,
  parseDatabaseTarget,
  sqlState,
  storeError,
} from './postgres-driver.js';
import { makeTx, type Query } from './postgres-tx.js';

export interface PostgresStorageOptions {
  /** The schema of the store's tables; overrides the URL's `?schema=` (default `coffer`). */
  schema?: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Create the schema and its tables when missing (`coffer init`); else VAULT_NOT_FOUND. */
  create?: boolean;
  /** How long a writer waits for another instance's lock before STORE_LOCKED, in ms. */
  lockTimeoutMs?: number;
  /** How long opening a connection may take, in ms (default 10 s). */
  connectTimeoutMs?: number;
  /**
   * How long one statement may go unanswered, and a session sit idle inside a transaction,
   * in ms (default 60 s); see the module doc.
   */
  statementTimeoutMs?: number;
  /** Loads the driver module; defaults to `import('pg')`. */
  loadDriver?: () => Promise<unknown>;
}

const BEGIN_READ = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

function positiveInt(name: string, value: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new CofferError('INVALID_ARGUMENT', `${name} must be a whole number from 1 to ${max}`);
  }
  return value;
}

/** Opens a PostgreSQL store, migrating its schema if needed. */
export async function openPostgresStorage(
  url: string,
  options: PostgresStorageOptions = {},
): Promise<PostgresStorage> {
  const target = parseDatabaseTarget(url, options.schema);
  const poolSize = positiveInt('poolSize', options.poolSize ?? 10, 1000);
  const lockTimeoutMs = positiveInt('lockTimeoutMs', options.lockTimeoutMs ?? 30_000, 86_400_000);
  const connectTimeoutMs = positiveInt(
    'connectTimeoutMs',
    options.connectTimeoutMs ?? 10_000,
    3_600_000,
  );
  const statementTimeoutMs = positiveInt(
    'statementTimeoutMs',
    options.statementTimeoutMs ?? 60_000,
    86_400_000,
  );
  const pg = await loadPg(options.loadDriver);
  const settings = [
    target.serverOptions,
    `-c search_path=${target.schema}`,
    `-c lock_timeout=${lockTimeoutMs}`,
    `-c statement_timeout=${statementTimeoutMs}`,
    `-c idle_in_transaction_session_timeout=${statementTimeoutMs}`,
    '-c synchronous_commit=on',
  ];
  const pool = new pg.Pool({
    connectionString: target.connectionString,
    max: poolSize,
    options: settings.filter((s) => s !== '').join(' '),
    application_name: 'coffer',
    connectionTimeoutMillis: connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    // The client's own bound on an answer, for when the server cannot enforce one (gone).
    // A little longer than the server's, so that a slow statement ends there first.
    query_timeout: statementTimeoutMs + 1000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // An idle connection that the server drops emits 'error' on the pool; the next checkout
  // opens a new one, so there is nothing to do (and an unhandled 'error' would crash).
  pool.on('error', () => undefined);
  const storage = new PostgresStorage(pool, target);
  try {
    await storage.migrate(options.create ?? false);
  } catch (err) {
    await storage.close();
    throw err;
  }
  return storage;
}

export class PostgresStorage implements Storage {
  readonly kind = 'postgres';
  readonly location: string;
  readonly schema: string;
  readonly #pool: PgPool;
  readonly #beginWrite: string;
  readonly #beginWriteDeferred: string;
  readonly #statementNames = new Map<string, string>();
  readonly #active = new Set<Promise<unknown>>();
  #writeQueue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #ended: Promise<void> | undefined;

  constructor(pool: PgPool, target: DatabaseTarget) {
    this.#pool = pool;
    this.location = target.location;
    this.schema = target.schema;
    this.#beginWrite = `BEGIN; SELECT pg_advisory_xact_lock(${lockKey(target.schema)})`;
    // One round trip all the same: the setting is local to the transaction.
    this.#beginWriteDeferred = `BEGIN; SET LOCAL synchronous_commit TO OFF; SELECT pg_advisory_xact_lock(${lockKey(target.schema)})`;
  }

  /** Applies missing migrations (see migrations.ts); called by openPostgresStorage. */
  async migrate(create: boolean): Promise<void> {
    await this.#withClient(async (conn) => {
      await migrate(conn.client, {
        schema: this.schema,
        lockKey: lockKey(this.schema),
        create,
        location: this.location,
      });
    });
  }

  transaction<T>(mode: TxMode, fn: (tx: StorageTx) => Promise<T>, options?: TxOptions): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new CofferError('STORE_ERROR', `the PostgreSQL store at ${this.location} is closed`),
      );
    }
    const begin =
      mode === 'read'
        ? BEGIN_READ
        : options?.deferSync
          ? this.#beginWriteDeferred
          : this.#beginWrite;
    const run = () => this.#withClient((conn) => this.#run(conn, begin, fn));
    let next: Promise<T>;
    if (mode === 'write') {
      next = this.#writeQueue.then(run, run);
      this.#writeQueue = next.catch(() => undefined);
    } else {
      next = run();
    }
    this.#active.add(next);
    const forget = () => {
      this.#active.delete(next);
    };
    next.then(forget, forget);
    return next;
  }

  /** Waits for the transactions already started or queued, then closes the pool. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#active]);
    this.#ended ??= this.#pool.end().catch(() => undefined);
    await this.#ended;
  }

  async #run<T>(conn: Connection, begin: string, fn: (tx: StorageTx) => Promise<T>): Promise<T> {
    const query = this.#query(conn.client);
    try {
      // Inside the try: when the lock wait times out, BEGIN has run and the transaction
      // is open (and aborted), so it needs the ROLLBACK below too.
      await query(begin);
      const result = await fn(makeTx(query));
      await query('COMMIT');
      return result;
    } catch (err) {
      if (connectionFailure(err)) {
        // No answer in time, or no connection: a ROLLBACK would wait as long. The connection
        // is dropped; the server rolls back when it ends the session.
        conn.broken = true;
        throw err;
      }
      // After a failed COMMIT there is no transaction left, and ROLLBACK only warns. A
      // ROLLBACK that fails means the connection is gone: it must not go back to the pool.
      await query('ROLLBACK').catch(() => {
        conn.broken = true;
      });
      throw err;
    }
  }

  /**
   * Runs `fn` on a pooled connection, and turns driver errors into CofferErrors. A
   * connection that failed (a driver error without a SQLSTATE, or a failed ROLLBACK) is
   * destroyed rather than reused.
   */
  async #withClient<T>(fn: (conn: Connection) => Promise<T>): Promise<T> {
    let client: PgClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw storeError(markDriverError(err), this.location);
    }
    const conn: Connection = { client: tagged(client), broken: false };
    // The pool listens for errors on idle connections only; a connection the server drops
    // while checked out emits 'error' here (its pending query fails too), and without a
    // listener that would crash the process.
    const onError = () => {
      conn.broken = true;
    };
    client.on('error', onError);
    try {
      return await fn(conn);
    } catch (err) {
      if (connectionFailure(err)) conn.broken = true;
      throw storeError(err, this.location);
    } finally {
      client.off('error', onError);
      client.release(conn.broken);
    }
  }

  /**
   * Statements with parameters run as prepared statements, named by their text (each
   * connection parses a statement once); BEGIN/COMMIT strings run as simple queries.
   */
  #query(client: PgClient): Query {
    return (text, values) => {
      if (values === undefined) return client.query(text);
      let name = this.#statementNames.get(text);
      if (name === undefined) {
        name = `coffer_${this.#statementNames.size + 1}`;
        this.#statementNames.set(text, name);
      }
      return client.query({ name, text, values });
    };
  }
}

interface Connection {
  client: PgClient;
  broken: boolean;
}

/**
 * A driver error without a SQLSTATE (no answer in time, no connection), also when a caller
 * wrapped it (the audit append's AUDIT_WRITE_FAILED keeps it as its cause).
 */
function connectionFailure(err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (isDriverError(e) && sqlState(e) === undefined) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The client with every driver error marked as such (see markDriverError). */
function tagged(client: PgClient): PgClient {
  return {
    query: (q) => client.query(q).catch((err: unknown) => Promise.reject(markDriverError(err))),
    release: (destroy) => client.release(destroy),
    on: (event, listener) => client.on(event, listener),
    off: (event, listener) => client.off(event, listener),
  };
}
