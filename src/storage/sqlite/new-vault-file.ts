/**
 * A new vault file (`coffer init`, `coffer backup restore`), made whole or not at all: the
 * vault is built in a private file beside its place (`vault.db.WRITER.HEX.tmp`, WRITER naming
 * its process and host: privateFileName), closed (SQLite folds its journal into it), then
 * published at its name by a hard link, which fails when the name exists. So of two inits or
 * restores run at once exactly one publishes; the other one fails with ALREADY_EXISTS and
 * removes only its own private file. Nothing here ever removes, truncates or replaces a vault
 * another process made.
 *
 * The publishing step runs holding `vault.db.lock` (withFileLock), so that it and the checks
 * it makes (the key file still holds the key; an empty file left by an older version's
 * interrupted init may be replaced) happen as one step for every coffer process.
 *
 * A process killed before it publishes leaves its private file; the next init or restore
 * removes such files once their writer is gone (files of another host, or of another PID
 * namespace of this one, a container's, are left to it: core/files.ts, Writer).
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname } from 'node:path';
import { CofferError } from '../../core/errors.js';
import {
  noHardLinks,
  privateFileName,
  privateFileWriter,
  removeLeftovers,
  syncDirectory,
  withFileLock,
  writerGone,
} from '../../core/files.js';
import { ioError, storeFileKind } from './sqlite-driver.js';
import { openSqliteStorage, type SqliteStorage } from './sqlite-storage.js';

export interface NewVaultFileOptions {
  /**
   * Runs just before the vault is published, holding the vault's lock (a check that must
   * still hold when the vault appears); throwing stops the publication.
   */
  beforePublish?: () => void;
}

/** SQLite's files beside a database: a leftover one would be read as part of a new vault. */
const SIDE_FILES = ['-wal', '-shm', '-journal'];

/**
 * Builds a vault with `build` in a private file, then publishes it at `file`.
 * @throws CofferError ALREADY_EXISTS when a vault (or any other non-empty file) is at `file`
 *   by then: made by another coffer init or restore meanwhile.
 */
export async function createVaultFile<T>(
  file: string,
  build: (storage: SqliteStorage) => Promise<T>,
  options: NewVaultFileOptions = {},
): Promise<T> {
  const dir = dirname(file);
  const tmp = privateFileName(file, '.tmp');
  try {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    closeSync(openSync(tmp, 'wx', 0o600));
  } catch (err) {
    throw ioError(tmp, err);
  }
  try {
    const storage = openSqliteStorage(tmp, { create: true });
    let result: T;
    try {
      result = await build(storage);
    } finally {
      await storage.close();
    }
    // Closing the last connection checkpoints the WAL into the file and deletes it: a WAL
    // still there would hold part of the vault under the private name.
    if ((statSync(`${tmp}-wal`, { throwIfNoEntry: false })?.size ?? 0) > 0) {
      throw new CofferError('IO_ERROR', `cannot finish ${tmp}: its journal was not written back`);
    }
    syncFile(tmp);
    withFileLock(file, () => {
      removeStrayBuilds(file);
      publish(tmp, file, options);
    });
    syncDirectory(dir);
    return result;
  } finally {
    for (const f of [tmp, ...SIDE_FILES.map((s) => `${tmp}${s}`)]) rmSync(f, { force: true });
  }
}

/** Gives the built vault its name; called holding the vault's lock. */
function publish(tmp: string, file: string, options: NewVaultFileOptions): void {
  const existing = statSync(file, { throwIfNoEntry: false });
  // An empty store an older coffer's interrupted init or restore left behind is no vault:
  // it is replaced. Anything else is another process's (or the user's), never touched.
  const replace = existing !== undefined && storeFileKind(file) === 'unused';
  if (existing !== undefined && !replace) {
    throw new CofferError('ALREADY_EXISTS', `a vault already exists at ${file}`, {
      hint: 'Another coffer init or restore made it while this one ran; it was left as it is, and nothing of this run was kept.',
    });
  }
  options.beforePublish?.();
  for (const s of SIDE_FILES) rmSync(`${file}${s}`, { force: true });
  try {
    if (replace) renameSync(tmp, file);
    else {
      try {
        linkSync(tmp, file);
      } catch (err) {
        // No hard links on this file system: the name was free under the lock a moment ago,
        // and every coffer that makes a vault takes that lock, so a rename is safe here.
        if (!noHardLinks(err)) throw err;
        if (existsSync(file)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
        renameSync(tmp, file);
      }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      // Made by a process that does not take the lock (an older coffer).
      throw new CofferError('ALREADY_EXISTS', `a vault already exists at ${file}`, {
        hint: 'Another coffer process made it while this one ran; it was left as it is.',
      });
    }
    throw ioError(file, err);
  }
}

/**
 * `vault.db.WRITER.HEX.tmp` (and its journals) of a build whose writer is gone; another host's
 * build is left to that host (on a shared disk it may be running there).
 */
function removeStrayBuilds(file: string): void {
  const base = basename(file);
  removeLeftovers(dirname(file), (name) => {
    const writer = privateFileWriter(name, base, String.raw`\.tmp(?:-wal|-shm|-journal)?`);
    // This process's own build is not a leftover: it may be being made now.
    return writer !== undefined && writerGone(writer, { ownInUse: true });
  });
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
