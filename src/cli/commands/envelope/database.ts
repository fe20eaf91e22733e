/**
 * Opens the table of `coffer envelope rewrap`: a SQLite file through better-sqlite3, or
 * PostgreSQL through `pg`, an optional dependency loaded only here and only for postgres://
 * URLs. A URL is never printed (it may hold a password); errors name the kind of database.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { RewrapAdapter } from '../../../core/envelope/rewrap.js';
import { type ColumnRef, sqliteRewrapAdapter } from '../../../core/envelope/sql-adapters.js';
import { CofferError } from '../../../core/errors.js';

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

export async function openRewrapTarget(url: string, ref: ColumnRef): Promise<RewrapTarget> {
  const { kind, location } = parseDatabaseUrl(url);
  return kind === 'postgres' ? openPostgres(location, ref) : openSqlite(location, ref);
}

async function openSqlite(file: string, ref: ColumnRef): Promise<RewrapTarget> {
  if (!existsSync(file)) {
    throw new CofferError('INVALID_ARGUMENT', `the SQLite database ${file} does not exist`);
  }
  const { default: Database } = await import('better-sqlite3');
  // In the bundled CLI the driver's `bindings` lookup starts from dist/, so name the addon.
  const nativeBinding = createRequire(import.meta.url).resolve(
    'better-sqlite3/build/Release/better_sqlite3.node',
  );
  // A busy application holds the write lock briefly; wait for it instead of failing.
  const db = new Database(file, { fileMustExist: true, timeout: 15_000, nativeBinding });
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
  // pg is imported statically by postgres-target.ts, itself loaded only here: in the bundled
  // CLI that is a plain require() of node_modules/pg when this line runs.
  let target: typeof import('./postgres-target.js');
  try {
    target = await import('./postgres-target.js');
  } catch (err) {
    throw new CofferError('INVALID_ARGUMENT', 'PostgreSQL needs the optional package pg', {
      hint: 'Install it next to coffer: npm install pg',
      cause: err,
    });
  }
  return target.openPostgresTarget(url, ref);
}

/** A driver error as a CofferError that names its code only (driver texts may quote data). */
export function databaseError(err: unknown, what = 'database error'): unknown {
  const code = (err as { code?: unknown })?.code;
  if (err instanceof CofferError || typeof code !== 'string') return err;
  return new CofferError('STORE_ERROR', `${what} (${code})`, { cause: err });
}
