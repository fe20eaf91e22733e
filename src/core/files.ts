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
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { CofferError } from './errors.js';

export interface WriteSecretFileOptions {
  /** Replace an existing file (default false: refuse with ALREADY_EXISTS). */
  overwrite?: boolean;
  /** File mode (default 0o600). */
  mode?: number;
}

/** Writes `content` to `path` atomically with mode 0600 (creating a 0700 directory if needed). */
export function writeSecretFile(
  path: string,
  content: string | Uint8Array,
  options: WriteSecretFileOptions = {},
): void {
  const mode = options.mode ?? 0o600;
  if (!options.overwrite && existsSync(path)) {
    throw new CofferError('ALREADY_EXISTS', `${path} already exists; coffer will not overwrite it`);
  }
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
    rmSync(tmp, { force: true });
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
