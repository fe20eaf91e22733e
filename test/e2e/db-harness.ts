/**
 * A vault run through the built binary, with direct access to its tables as someone who can
 * write the database has (no master key): a SQLite vault file, or a throw-away PostgreSQL
 * schema when COFFER_TEST_DATABASE_URL is set (otherwise that skip is reported by name).
 * SQL is written with `?` placeholders for both.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeHome, type RunOptions, type RunResult } from './harness.js';
import {
  randomMasterKey,
  reportSkipped,
  TEST_DATABASE_URL,
  throwAwayDatabase,
} from './serve-harness.js';

export type Row = Record<string, unknown>;

/** Direct access to the vault's tables. */
export interface Db {
  run(sql: string, params?: unknown[]): Promise<void>;
  all(sql: string, params?: unknown[]): Promise<Row[]>;
}

export interface DbSetup {
  /** Runs coffer on the vault (`o.env` adds to its environment). */
  run(args: string[], o?: RunOptions): RunResult;
  db: Db;
  home: string;
  cleanup(): Promise<void>;
}

export function sqliteSetup(): DbSetup {
  const h = makeHome();
  const file = join(h.env.COFFER_HOME!, 'vault.db');
  const open = <T>(fn: (d: Database.Database) => T): T => {
    const d = new Database(file);
    try {
      return fn(d);
    } finally {
      d.close();
    }
  };
  return {
    run: (args, o) => h.run(args, o),
    db: {
      run: async (sql, params = []) => void open((d) => d.prepare(sql).run(...params)),
      all: async (sql, params = []) => open((d) => d.prepare(sql).all(...params) as Row[]),
    },
    home: h.home,
    cleanup: async () => {},
  };
}

export async function postgresSetup(): Promise<DbSetup> {
  const h = makeHome();
  const target = throwAwayDatabase(TEST_DATABASE_URL!);
  const env = { COFFER_DATABASE_URL: target.url, COFFER_MASTER_KEY: randomMasterKey() };
  const pg = (await import('pg')).default;
  const query = async (sql: string, params: unknown[]): Promise<Row[]> => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL! });
    await client.connect();
    try {
      await client.query(`SET search_path TO "${target.schema}"`);
      let n = 0;
      return (
        await client.query(
          sql.replace(/\?/g, () => `$${++n}`),
          params,
        )
      ).rows as Row[];
    } finally {
      await client.end();
    }
  };
  return {
    run: (args, o = {}) => h.run(args, { ...o, env: { ...env, ...o.env } }),
    db: { run: async (sql, params = []) => void (await query(sql, params)), all: query },
    home: h.home,
    cleanup: () => target.drop(),
  };
}

/** SQLite, and PostgreSQL when a test database is given (the skip reported as `what`). */
export function dbBackends(what: string): [string, () => DbSetup | Promise<DbSetup>][] {
  const backends: [string, () => DbSetup | Promise<DbSetup>][] = [['SQLite', sqliteSetup]];
  if (TEST_DATABASE_URL) backends.push(['PostgreSQL', postgresSetup]);
  reportSkipped(what);
  return backends;
}
