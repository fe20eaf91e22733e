/**
 * Opens an application's table for `coffer envelope rewrap` through the storage drivers: a
 * SQLite file with the better-sqlite3 addon the vault uses (sqlite/sqlite-driver.ts), or
 * PostgreSQL through the optional `pg` package, loaded only for postgres:// URLs
 * (postgres/postgres-driver.ts), on one connection so each batch is one transaction. A URL
 * is never printed (it may hold a password); errors name the kind of database and the
 * driver's error code only (driver texts may quote data).
 */
import { existsSync } from 'node:fs';
import type { RewrapAdapter } from '../core/envelope/rewrap.js';
import {
  type ColumnRef,
  postgresRewrapAdapter,
  sqliteRewrapAdapter,
} from '../core/envelope/sql-adapters.js';
import { CofferError } from '../core/errors.js';
import { loadPg } from './postgres/postgres-driver.js';
import { loadDriver } from './sqlite/sqlite-driver.js';

export interface RewrapTarget {
  kind: 'sqlite' | 'postgres';
  adapter: RewrapAdapter;
  close(): Promise<void>;
}

/** `postgres://`, `postgresql://`, `sqlite:PATH`, `sqlite://PATH`, `file:PATH` or a path. */
export function parseDatabaseUrl(url: string): { kind: 'sqlite' | 'postgres'; location: string } {
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'postgres', location: url };
  const m = /^(?:sqlite|file):(?:\/\/)?(.*)$/i.exec(url);
  return { kind: 'sqlite', location: m ? m[1]! : url };
}

/** A driver error as a CofferError that names its code only (driver texts may quote data). */
export function databaseError(err: unknown, what = 'database error'): unknown {
  const code = (err as { code?: unknown })?.code;
  if (err instanceof CofferError || typeof code !== 'string') return err;
  return new CofferError('STORE_ERROR', `${what} (${code})`, { cause: err });
}

export async function openRewrapTarget(url: string, ref: ColumnRef): Promise<RewrapTarget> {
  const { kind, location } = parseDatabaseUrl(url);
  return kind === 'postgres' ? openPostgres(location, ref) : openSqlite(location, ref);
}

async function openSqlite(file: string, ref: ColumnRef): Promise<RewrapTarget> {
  if (!existsSync(file)) {
    throw new CofferError('INVALID_ARGUMENT', `the SQLite database ${file} does not exist`);
  }
  const { Database, nativeBinding } = loadDriver();
  // A busy application holds the write lock briefly; wait for it instead of failing.
  const db = new Database(file, {
    fileMustExist: true,
    timeout: 15_000,
    ...(nativeBinding ? { nativeBinding } : {}),
  });
  try {
    return {
      kind: 'sqlite',
      adapter: sqliteRewrapAdapter(db, ref),
      close: async () => {
        db.close();
      },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}

async function openPostgres(url: string, ref: ColumnRef): Promise<RewrapTarget> {
  const pg = await loadPg();
  const pool = new pg.Pool({
    connectionString: url,
    max: 1,
    options: '',
    application_name: 'coffer-rewrap',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  pool.on('error', () => undefined);
  let client: Awaited<ReturnType<typeof pool.connect>>;
  try {
    client = await pool.connect();
  } catch (err) {
    await pool.end();
    throw databaseError(err, 'cannot connect to the PostgreSQL database');
  }
  const close = async () => {
    client.release();
    await pool.end();
  };
  try {
    const adapter = await postgresRewrapAdapter(client, ref);
    return { kind: 'postgres', adapter, close };
  } catch (err) {
    await close();
    throw err;
  }
}
