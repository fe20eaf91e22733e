/**
 * Files that hold secrets: written atomically (temp file in the same directory, fsync,
 * rename) with mode 0600, so a reader sees the old file or the new one, never a partial one,
 * and a crash leaves at most a stray temp file. This is the one place coffer writes such
 * files; OS-specific details (modes, fsync of the directory) live here.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CofferError, fromSystemError } from './errors.js';

export interface WriteSecretFileOptions {
  /** Replace an existing file (default false: refuse with ALREADY_EXISTS). */
  overwrite?: boolean;
  /** File mode (default 0o600). */
  mode?: number;
  /** The option that named the file (`--out`): the refusal to overwrite says to pass --force. */
  option?: string;
}

/**
 * The refusal to replace a file that exists, the same for every command that writes one
 * (`export --out`, `inject --out`, `backup --out`, `incident --report`). With the option that
 * named the file, the hint says how to go on: another file, or --force.
 */
export function fileExistsError(path: string, option?: string): CofferError {
  return new CofferError('ALREADY_EXISTS', `${path} already exists; coffer will not overwrite it`, {
    hint:
      option === undefined
        ? undefined
        : `Choose another ${option} FILE, or pass --force to replace it.`,
  });
}

/** Writes `content` to `path` atomically with mode 0600 (creating a 0700 directory if needed). */
export function writeSecretFile(
  path: string,
  content: string | Uint8Array,
  options: WriteSecretFileOptions = {},
): void {
  const mode = options.mode ?? 0o600;
  if (!options.overwrite && existsSync(path)) throw fileExistsError(path, options.option);
  const dir = dirname(path);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, 'wx', mode);
    try {
      writeFileSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, mode);
    renameSync(tmp, path);
    syncDirectory(dir);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // The temp file could not be made either (ENAMETOOLONG, EACCES): the first error says why.
    }
    if (err instanceof CofferError) throw err;
    throw new CofferError(
      'IO_ERROR',
      `cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        cause: err,
      },
    );
  }
}

/** Makes a rename durable; best effort (not every platform allows opening a directory). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows and some file systems refuse; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The permission bits of a file, or undefined when it does not exist. */
export function fileMode(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
}

/**
 * Refuses a file name no file system takes: empty, or holding a NUL character (node:fs would
 * throw a TypeError for it, which a front end can only report as an internal error). File
 * names from remote callers (MCP tools, HTTP) go through this before any file operation; argv
 * and environment variables cannot hold a NUL. The name is not repeated in the message: a
 * caller may have put something else than a file name there.
 */
export function checkFileName(name: string): string {
  if (name === '' || name.includes('\0')) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      name === '' ? 'the file name is empty' : 'the file name contains a NUL character',
      { hint: 'Give a file path such as .env or config/.env.local.' },
    );
  }
  return name;
}

/** How long a writer waits for another one to finish with the same file. */
const LOCK_WAIT_MS = 10_000;
/** A lock older than this was left by a process that died while writing. */
const LOCK_STALE_MS = 60_000;

/**
 * Whether a lock file was left behind: its process (the pid it holds) is gone, or it is
 * older than a minute (a pid from another machine on a shared disk, or not written yet).
 */
function abandoned(lock: string): boolean {
  const held = statSync(lock, { throwIfNoEntry: false });
  if (held === undefined) return false;
  if (Date.now() - held.mtimeMs > LOCK_STALE_MS) return true;
  let pid = Number.NaN;
  try {
    pid = Number(readFileSync(lock, 'utf8'));
  } catch {
    return false;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  // The lock is taken and given back synchronously: this process holds none now (a pid
  // reused after a crash, coffer as pid 1 in a container).
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes an abandoned lock, once: two writers that both found it abandoned would otherwise
 * both remove it, the second one the lock the first had made meanwhile. The removal is done
 * holding `lock.takeover` (O_EXCL), after checking again that the lock is still abandoned.
 */
function takeOver(lock: string): void {
  const takeover = `${lock}.takeover`;
  if (!createHolding(takeover)) {
    // Another writer is taking it over; one killed while doing so left its pid behind.
    if (abandoned(takeover)) rmSync(takeover, { force: true });
    else pause(5);
    return;
  }
  try {
    if (abandoned(lock)) rmSync(lock, { force: true });
  } finally {
    rmSync(takeover, { force: true });
  }
}

/**
 * Creates `path` holding this process's pid, whole or not at all: the pid goes into a file of
 * its own first, then a hard link gives it the name (refused when the name exists), so a kill
 * never leaves an empty lock whose owner cannot be told. Where hard links are not supported,
 * an O_EXCL create then the write. False when `path` exists.
 */
function createHolding(path: string): boolean {
  const own = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(own, String(process.pid), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    throw new CofferError(
      'IO_ERROR',
      `cannot lock ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        cause: err,
      },
    );
  }
  try {
    linkSync(own, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') {
      throw new CofferError('IO_ERROR', `cannot lock ${path} (${code ?? 'error'})`, { cause: err });
    }
  } finally {
    rmSync(own, { force: true });
  }
  // No hard links here (some network and FAT file systems).
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new CofferError(
      'IO_ERROR',
      `cannot lock ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        cause: err,
      },
    );
  }
  try {
    writeFileSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Blocks the thread for `ms` (a lock wait in synchronous code). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `fn` (a read, change and atomic rewrite of `path`) while holding `path.lock`, so that
 * two coffer processes changing one file (`set --dotenv` twice at once) each keep the other's
 * change instead of the last rename winning. The lock is a file made with O_EXCL holding the
 * writer's pid, removed afterwards; one left by a killed process is taken over (its pid is
 * gone, or it is a minute old).
 * @throws CofferError STORE_LOCKED when another writer holds it for more than 10 s.
 */
export function withFileLock<T>(path: string, fn: () => T): T {
  const lock = `${path}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  // The file's directory may not exist yet: made as writeSecretFile would make it.
  const dir = dirname(path);
  if (!existsSync(dir)) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw fromSystemError(err) ?? err;
    }
  }
  while (!createHolding(lock)) {
    if (abandoned(lock)) takeOver(lock);
    else pause(5 + Math.floor(Math.random() * 10));
    if (Date.now() > deadline) {
      throw new CofferError('STORE_LOCKED', `${path} is being written by another coffer process`, {
        hint: `Retry in a moment; if no coffer is running, remove ${lock}.`,
      });
    }
  }
  try {
    removeStrays(lock);
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * Removes the pid files (`NAME.lock.PID.HEX`, `NAME.lock.takeover.PID.HEX`) that writers
 * killed between making one and linking it left beside the file, once their process is gone.
 * Called holding the lock; a directory that cannot be listed is left as it is.
 */
function removeStrays(lock: string): void {
  const dir = dirname(lock);
  const prefix = `${basename(lock)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !STRAY.test(name.slice(prefix.length))) continue;
    const file = join(dir, name);
    try {
      if (abandoned(file)) rmSync(file, { force: true });
    } catch {
      // Gone meanwhile, or not ours to remove: it stays.
    }
  }
}

/** What follows `NAME.lock.` in a writer's pid file (createHolding). */
const STRAY = /^(?:takeover\.)?\d+\.[0-9a-f]{8}$/;
