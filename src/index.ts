/**
 * The `coffer` package entry: the core API plus the embedded SQLite storage.
 * See src/core/index.ts for the documentation of the core API.
 */
export * from './core/index.js';
export {
  openMemoryStorage,
  openSqliteStorage,
  SqliteStorage,
  type SqliteStorageOptions,
} from './storage/sqlite/sqlite-storage.js';
