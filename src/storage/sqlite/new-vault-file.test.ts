/**
 * A new vault file on a file system without hard links (FAT, exFAT, some SMB/NFS mounts):
 * link(2) fails with EPERM there, and the vault is published by a rename under the vault's
 * lock instead; a vault already there is still never replaced.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CofferError } from '../../core/errors.js';

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const linkSync = (): never => {
    throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' });
  };
  return { ...fs, default: { ...fs, linkSync }, linkSync };
});

const { createVaultFile } = await import('./new-vault-file.js');

const dir = mkdtempSync(join(tmpdir(), 'coffer-nolinks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createVaultFile without hard links', () => {
  it('publishes by a rename under the lock, and refuses a second vault at the name', async () => {
    const file = join(dir, 'vault.db');
    const made = await createVaultFile(file, async (storage) => {
      await storage.transaction('write', (tx) => tx.setMeta('made_by', 'first'));
      return 'first';
    });
    expect(made).toBe('first');
    const err = await createVaultFile(file, async () => 'second').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).code).toBe('ALREADY_EXISTS');
    // Only the published vault is left (no private build file, no lock).
    expect(readdirSync(dir).filter((n) => !n.endsWith('-wal') && !n.endsWith('-shm'))).toEqual([
      'vault.db',
    ]);
  });
});
