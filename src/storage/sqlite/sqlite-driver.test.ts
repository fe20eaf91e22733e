import { describe, expect, it } from 'vitest';
import { CofferError } from '../../core/errors.js';
import { storeError } from './sqlite-driver.js';

describe('storeError', () => {
  it('a read-only vault (or its -wal and -shm files) says which files to check, never SQL', () => {
    for (const code of ['SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED', 'SQLITE_CANTOPEN']) {
      const err = storeError(
        Object.assign(new Error('attempt to write: INSERT ...'), { code }),
        '/v/vault.db',
      );
      expect(err).toBeInstanceOf(CofferError);
      const e = err as CofferError;
      expect(e.code).toBe('STORE_ERROR');
      expect(e.message).toContain(code);
      expect(e.message).not.toContain('INSERT');
      expect(e.hint).toContain('/v/vault.db-wal and /v/vault.db-shm');
    }
  });

  it('leaves an error that is not SQLite’s as it is', () => {
    const other = new TypeError('x');
    expect(storeError(other, '/v/vault.db')).toBe(other);
  });
});
