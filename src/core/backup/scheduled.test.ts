import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { insertOlderToken } from '../../../test/helpers/older-token.js';
import { makeTestVault } from '../../../test/helpers/vault.js';
import { decryptBackup } from './age.js';
import { decodeSnapshot } from './format.js';
import {
  backupFileName,
  pruneBackups,
  type SetTimer,
  scheduleBackups,
  takeScheduledBackup,
} from './scheduled.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A test vault and an empty backup directory, both removed after the test. */
async function vaultAndBackupDir() {
  const t = await makeTestVault('test:serve');
  const dir = mkdtempSync(join(tmpdir(), 'coffer-backups-'));
  cleanups.push(async () => {
    t.vault.close();
    await t.storage.close();
    rmSync(t.dir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });
  return { t, dir };
}

describe('scheduled backups', () => {
  it('names files by UTC time', () => {
    expect(backupFileName(new Date('2026-01-02T03:04:05.678Z'))).toBe(
      'coffer-backup-20260102T030405Z.age',
    );
  });

  it('takes a backup each interval, keeps the newest N and leaves other files alone', async () => {
    const { t, dir } = await vaultAndBackupDir();
    writeFileSync(join(dir, 'notes.txt'), 'keep me');
    await t.vault.set('project/app/db_url', 'dev', 'postgres://x', {
      description: 'Database URL of the app',
    });
    // A fake timer: each fire() runs the pending callback, as the interval elapsing would.
    let pending: { fn: () => void; ms: number } | undefined;
    const setTimer: SetTimer = (fn, ms) => {
      pending = { fn, ms };
      return () => {
        pending = undefined;
      };
    };
    let clock = Date.parse('2026-03-01T00:00:00Z');
    const written: string[] = [];
    const errors: unknown[] = [];
    let done: () => void = () => undefined;
    const schedule = scheduleBackups({
      vault: t.vault,
      dir,
      keep: 2,
      everyMs: 86_400_000,
      encryption: { passphrase: 'pw-scheduled', workFactor: 14 },
      now: () => new Date(clock),
      setTimer,
      onBackup: (r) => {
        written.push(r.file);
        done();
      },
      onError: (err) => {
        errors.push(err);
        done();
      },
    });
    for (let i = 0; i < 3; i++) {
      expect(pending?.ms).toBe(86_400_000);
      const finished = new Promise<void>((r) => {
        done = r;
      });
      pending!.fn();
      await finished;
      clock += 86_400_000;
    }
    await schedule.stop();
    expect(errors).toEqual([]);
    expect(written).toHaveLength(3);
    const left = readdirSync(dir).sort();
    expect(left).toEqual([
      'coffer-backup-20260302T000000Z.age',
      'coffer-backup-20260303T000000Z.age',
      'notes.txt',
    ]);
    const file = join(dir, left[1]!);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const s = decodeSnapshot(
      await decryptBackup(new Uint8Array(readFileSync(file)), { passphrase: 'pw-scheduled' }),
    );
    expect(s.header.counts.secrets).toBe(1);
    const audit = await t.vault.readTransaction((tx) => tx.listAudit({ limit: 100 }));
    expect(audit.filter((r) => r.action === 'vault.backup')).toHaveLength(3);
  });

  it('prunes only its own files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-prune-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    for (const f of [
      'coffer-backup-20260101T000000Z.age',
      'coffer-backup-20260102T000000Z.age',
      'coffer-backup-20260102T000000Z-1.age',
      'coffer-backup-manual.age',
      'other.age',
    ]) {
      writeFileSync(join(dir, f), '');
    }
    expect(pruneBackups(dir, 1)).toEqual([
      'coffer-backup-20260101T000000Z.age',
      'coffer-backup-20260102T000000Z.age',
    ]);
    expect(readdirSync(dir).sort()).toEqual([
      'coffer-backup-20260102T000000Z-1.age',
      'coffer-backup-manual.age',
      'other.age',
    ]);
  });

  it('a backup taken while the clock was ahead never makes a new one remove itself', async () => {
    const { t, dir } = await vaultAndBackupDir();
    const encryption = { passphrase: 'pw-scheduled', workFactor: 14 };
    const at = (iso: string) => () => new Date(iso);
    // Taken a year ahead (a VM restored from a snapshot, then an NTP step back).
    const ahead = await takeScheduledBackup({
      vault: t.vault,
      dir,
      keep: 1,
      encryption,
      now: at('2027-03-01T00:00:00Z'),
    });
    const taken: string[] = [];
    for (const day of ['01', '02', '03']) {
      const r = await takeScheduledBackup({
        vault: t.vault,
        dir,
        keep: 1,
        encryption,
        now: at(`2026-03-${day}T00:00:00Z`),
      });
      expect(readdirSync(dir)).toContain(basename(r.file));
      expect(r.removed).not.toContain(basename(r.file));
      expect(r.future).toEqual([basename(ahead.file)]);
      taken.push(basename(r.file));
    }
    // The newest real one is kept, the older ones pruned, the future-dated one left alone.
    expect(readdirSync(dir).sort()).toEqual([taken[2], basename(ahead.file)]);
  });

  it('names a live token whose globs are past the caps in the first backup of a schedule only', async () => {
    const { t, dir } = await vaultAndBackupDir();
    // Two tokens an earlier coffer made: one live, one revoked already (nothing to do).
    for (const [name, revokedAt] of [
      ['ci-wide', null],
      ['ci-gone', '2026-01-01T00:00:00.000Z'],
    ] as const) {
      await insertOlderToken(t.vault, {
        name,
        allow: Array.from({ length: 70 }, (_, i) => `project/p${i}/*`),
        revokedAt,
      });
    }
    let pending: (() => void) | undefined;
    let clock = Date.parse('2026-03-01T00:00:00Z');
    const named: string[][] = [];
    let done: () => void = () => undefined;
    const schedule = scheduleBackups({
      vault: t.vault,
      dir,
      keep: 3,
      everyMs: 1000,
      encryption: { passphrase: 'pw-scheduled', workFactor: 14 },
      now: () => new Date(clock),
      setTimer: (fn) => {
        pending = fn;
        return () => {
          pending = undefined;
        };
      },
      onBackup: (r) => {
        try {
          named.push((r.tokensBeyondCaps ?? []).map((x) => `${x.name}: ${x.reason}`));
        } finally {
          done();
        }
      },
      onError: (err) => {
        named.push([String(err)]);
        done();
      },
    });
    for (let i = 0; i < 2; i++) {
      const finished = new Promise<void>((r) => {
        done = r;
      });
      pending!();
      await finished;
      clock += 1000;
    }
    await schedule.stop();
    expect(named).toEqual([['ci-wide: 70 path globs: a policy holds at most 64'], []]);
  });
});
