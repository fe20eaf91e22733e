/**
 * A new vault file on a file system without hard links (FAT, exFAT, some SMB/NFS mounts):
 * link(2) fails with EPERM there, and the vault is published by a rename under the vault's
 * lock instead; a vault already there is still never replaced. And the private builds that
 * killed inits left: removed once their writer is gone, never another host's.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { CofferError } from '../../core/errors.js';
import { hostTag, processStartTime } from '../../core/files.js';

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

describe('createVaultFile and the builds killed inits left', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  it("removes this host's builds of gone writers, never another host's (a shared disk)", async () => {
    const d = join(dir, 'strays');
    mkdirSync(d);
    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const other = hostTag() === 'ffffffff' ? '00000000' : 'ffffffff';
    const mine = [
      `vault.db.${gone}-${hostTag()}.0a1b2c3d.tmp`,
      `vault.db.${gone}-${hostTag()}-4242.0a1b2c3d.tmp-wal`,
      `vault.db.${gone}.0a1b2c3d.tmp`, // an earlier version's name
    ];
    if (process.platform === 'linux') {
      // A live process has the pid now, started after the writer that died.
      const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], {
        stdio: 'ignore',
      });
      children.push(child);
      const start = processStartTime(child.pid as number);
      mine.push(`vault.db.${child.pid}-${hostTag()}-${start}1.0a1b2c3d.tmp`);
    }
    // An init of another host may be building it right now.
    const theirs = [
      `vault.db.${gone}-${other}.0a1b2c3d.tmp`,
      `vault.db.${gone}-${other}-4242.0a1b2c3d.tmp-journal`,
    ];
    for (const name of [...mine, ...theirs]) writeFileSync(join(d, name), '');
    await createVaultFile(join(d, 'vault.db'), async () => undefined);
    // The published vault's own journals aside (SQLite's, not a build's).
    const left = readdirSync(d).filter((n) => !/^vault\.db-(?:wal|shm)$/.test(n));
    expect(left.sort()).toEqual(['vault.db', ...theirs].sort());
  });
});
