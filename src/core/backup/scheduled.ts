/**
 * Scheduled backups (`coffer serve --backup-every 24h --backup-dir DIR [--keep 7]`): every
 * interval, one backup (backup.ts) written atomically with mode 0600 into DIR as
 * `coffer-backup-<UTC time>.age`, recorded in the audit log; then the oldest of those files
 * beyond `keep` are removed, never the one just written nor one named for a later time (a
 * clock that was ahead). Other files in DIR are never touched. A failed backup is reported
 * to the caller and the schedule goes on; timers are injected so tests need no clock.
 */
import { readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CofferError } from '../errors.js';
import { writeSecretFile } from '../files.js';
import type { Vault } from '../store/vault.js';
import type { BackupEncryption } from './age.js';
import { createBackup, recordBackup, type TokenBeyondCaps } from './backup.js';
import type { BackupHeader } from './format.js';

const NAME = /^coffer-backup-(\d{8}T\d{6}Z)(?:-(\d+))?\.age$/;

/** Oldest first: by time, then by the suffix of a second backup within the same second. */
function byAge(a: string, b: string): number {
  const ma = NAME.exec(a)!;
  const mb = NAME.exec(b)!;
  if (ma[1] !== mb[1]) return ma[1]! < mb[1]! ? -1 : 1;
  return Number(ma[2] ?? 0) - Number(mb[2] ?? 0);
}

/** `coffer-backup-20260102T030405Z.age` for a backup taken at `now`. */
export function backupFileName(now: Date): string {
  return `coffer-backup-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}.age`;
}

/**
 * Removes the oldest scheduled backups in `dir` beyond the newest `keep`; returns their names.
 * With `written` (the backup just taken), that backup is always kept, and files named for a
 * later time than it are left alone and not counted: they were written while the clock was
 * ahead (a VM restored from a snapshot, an NTP step) and would otherwise count as the newest,
 * so that every new backup removed itself.
 */
export function pruneBackups(dir: string, keep: number, written?: string): string[] {
  const ours = readdirSync(dir)
    .filter((f) => NAME.test(f) && f !== written)
    .filter((f) => written === undefined || byAge(f, written) < 0)
    .sort(byAge);
  const old = ours.slice(0, Math.max(0, ours.length - (written === undefined ? keep : keep - 1)));
  for (const f of old) rmSync(join(dir, f), { force: true });
  return old;
}

/** The scheduled backups in `dir` named for a later time than `written`. */
function laterThan(dir: string, written: string): string[] {
  return readdirSync(dir)
    .filter((f) => NAME.test(f) && f !== written && byAge(f, written) > 0)
    .sort(byAge);
}

export interface ScheduledBackupOptions {
  vault: Vault;
  dir: string;
  /** How many scheduled backups to keep (the newest). */
  keep: number;
  encryption: BackupEncryption;
  now?: (() => Date) | undefined;
}

export interface ScheduledBackupResult {
  file: string;
  header: BackupHeader;
  removed: string[];
  /**
   * Scheduled backups named for a later time than this one (taken while the clock was ahead):
   * never removed by pruning, so to be looked at and removed by hand.
   */
  future: string[];
  /**
   * Live tokens whose path globs are past the caps new tokens have (an earlier coffer made
   * them): a restore of the backup brings them back revoked. Under `scheduleBackups`, only
   * those no earlier backup of the schedule named, so each is reported once.
   */
  tokensBeyondCaps: TokenBeyondCaps[];
}

/** Takes one scheduled backup into `dir` and prunes the old ones. */
export async function takeScheduledBackup(
  o: ScheduledBackupOptions,
): Promise<ScheduledBackupResult> {
  if (!Number.isSafeInteger(o.keep) || o.keep < 1) {
    throw new CofferError('INVALID_ARGUMENT', 'keep must be a whole number >= 1');
  }
  const now = (o.now ?? (() => new Date()))();
  let file = join(o.dir, backupFileName(now));
  // Two backups within one second (a restart): a suffix keeps both.
  for (let i = 1; existsIn(o.dir, file); i++) {
    file = join(o.dir, backupFileName(now).replace(/\.age$/, `-${i}.age`));
  }
  const backup = await createBackup(o.vault, { encryption: o.encryption, now: () => now });
  writeSecretFile(file, backup.file);
  await recordBackup(o.vault, backup.header, file);
  const name = basename(file);
  return {
    file,
    header: backup.header,
    removed: pruneBackups(o.dir, o.keep, name),
    future: laterThan(o.dir, name),
    tokensBeyondCaps: backup.tokensBeyondCaps.filter((t) => !t.revokedBefore),
  };
}

function existsIn(dir: string, file: string): boolean {
  try {
    return readdirSync(dir).includes(file.slice(dir.length + 1));
  } catch {
    return false;
  }
}

/** Starts a timer; returns the function that cancels it. */
export type SetTimer = (fn: () => void, ms: number) => () => void;

const realTimer: SetTimer = (fn, ms) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

export interface BackupSchedule {
  /** Cancels the next backup and waits for one in progress. */
  stop(): Promise<void>;
}

/** Takes a backup every `everyMs` until stopped (the first one after one interval). */
export function scheduleBackups(
  o: ScheduledBackupOptions & {
    everyMs: number;
    onBackup?: ((r: ScheduledBackupResult) => void) | undefined;
    onError?: ((err: unknown) => void) | undefined;
    setTimer?: SetTimer | undefined;
  },
): BackupSchedule {
  const setTimer = o.setTimer ?? realTimer;
  let cancel: (() => void) | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  /** Tokens past the caps named by an earlier backup of this schedule (ids). */
  const named = new Set<string>();
  const next = () => {
    if (stopped) return;
    cancel = setTimer(() => {
      running = takeScheduledBackup(o).then(
        (r) => {
          const fresh = r.tokensBeyondCaps.filter((t) => !named.has(t.id));
          for (const t of fresh) named.add(t.id);
          o.onBackup?.({ ...r, tokensBeyondCaps: fresh });
        },
        (err: unknown) => o.onError?.(err),
      );
      void running.then(next);
    }, o.everyMs);
  };
  next();
  return {
    async stop() {
      stopped = true;
      cancel?.();
      await running;
    },
  };
}
