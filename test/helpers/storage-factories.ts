/**
 * Storage factories for the contract in test/storage-contract.ts: each makes a fresh, empty
 * store and knows how to remove it again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

// PostgreSQL: add `postgresStorageFactory(url)` here once src/storage/postgres exists. It
// should create a throw-away schema (or database) per call, and drop it in `cleanup`.
