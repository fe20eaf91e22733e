/**
 * Storage factories for the contract in test/storage-contract.ts: each makes a fresh, empty
 * store and knows how to remove it again.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  openPostgresStorage,
  type PostgresStorage,
  type PostgresStorageOptions,
} from '../../src/storage/postgres/postgres-storage.js';
import {
  openSqliteStorage,
  type SqliteStorage,
  type SqliteStorageOptions,
} from '../../src/storage/sqlite/sqlite-storage.js';
import type { StorageFactory } from '../storage-contract.js';

/** A SQLite vault file in a new temp directory; `openSecond` opens the same file again. */
export function sqliteStorageFactory(options: SqliteStorageOptions = {}): StorageFactory {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-contract-'));
    const file = join(dir, 'vault.db');
    const storage = openSqliteStorage(file, { ...options, create: true });
    const others: SqliteStorage[] = [];
    return {
      storage,
      async openSecond() {
        const other = openSqliteStorage(file, options);
        others.push(other);
        return other;
      },
      async cleanup() {
        try {
          for (const other of others) await other.close();
          await storage.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  };
}

/** A schema name no other test run uses (lowercase, as the backend requires). */
export function throwAwaySchema(prefix = 'coffer_test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** Drops a test schema and everything in it. */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * A PostgreSQL store in a throw-away schema of the database at `url`; `openSecond` opens
 * another pool on the same schema (another instance's view), and `cleanup` drops the schema.
 */
export function postgresStorageFactory(
  url: string,
  options: PostgresStorageOptions = {},
): StorageFactory {
  return async () => {
    const schema = throwAwaySchema();
    const opts = { poolSize: 4, ...options, schema };
    const storage = await openPostgresStorage(url, { ...opts, create: true });
    const others: PostgresStorage[] = [];
    return {
      storage,
      async openSecond() {
        const other = await openPostgresStorage(url, opts);
        others.push(other);
        return other;
      },
      async cleanup() {
        try {
          for (const other of others) await other.close();
          await storage.close();
        } finally {
          await dropPostgresSchema(url, schema);
        }
      },
    };
  };
}
