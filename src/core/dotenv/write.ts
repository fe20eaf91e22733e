/**
 * The one .env writer: every command and tool that puts values into a .env file (`env pull`,
 * `set --dotenv`, `generate --dotenv`, `setup`, MCP `write_env`) goes through here.
 *
 * - The change is computed first (names only: add, update, unchanged) and nothing is written
 *   when nothing changes, so a second identical run leaves the file byte for byte as it was.
 * - Other lines, comments and order are kept (edit.ts).
 * - The file is replaced atomically with mode 0600 (a temporary file in the same directory,
 *   then rename): a kill during the write leaves the old file or the new one, never a part.
 * - Special files, one rule (files.ts, the rule of every secret file coffer writes): a
 *   symbolic link is refused, never followed: a cloned repository can commit
 *   `.env -> ~/.ssh/authorized_keys` or `.env -> README.md` (a tracked file). A directory on
 *   the way may not lead out of the project (`within`, the working directory by default)
 *   through a link. Both are checked again at write time, in the writer, and the file is
 *   read without following a link (O_NOFOLLOW). A read-only file is refused. A device (such
 *   as /dev/stdout), a FIFO, a socket or a directory is refused. `-` means stdout where the
 *   caller allows it (`allowStdout`) and is refused elsewhere (never a file named `-`).
 * - Whether git would commit the file is checked after writing (git.ts), and reported as a
 *   warning naming the file.
 * Values never appear in the result or in an error.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, statSync } from 'node:fs';
import { CofferError, fromSystemError } from '../errors.js';
import { symlinkRefusal, withFileLock, writeSecretFile } from '../files.js';
import { gitIgnoreWarning } from '../git.js';
import { READ_LIMITS, readFdLimited, readFileLimited } from '../read-limited.js';
import { decodeUtf8 } from '../utf8.js';
import { removeDotenvVariables, setDotenvVariables } from './edit.js';
import { parseDotenv } from './parse.js';

export type DotenvChange = { name: string; action: 'add' | 'update' | 'remove' };

export interface DotenvWrite {
  /** The file as the caller named it (`-` for stdout). */
  file: string;
  /** The file written: `file` itself (a symbolic link is refused, never followed). */
  target: string;
  /** Variables added or changed, in the order given. */
  changes: DotenvChange[];
  /** Variables already holding their value. */
  unchanged: string[];
  /** True when the file was (or, with `check`, would be) rewritten. */
  written: boolean;
  /** The git-ignore warning, when git would commit the file. */
  warning: string | undefined;
  /** The new text, for `-` (stdout); undefined otherwise. */
  stdout: string | undefined;
}

export interface DotenvWriteOptions {
  /** Compute only; write nothing. */
  check?: boolean;
  /** `-` means stdout (the text is returned in `stdout` for the caller to print). */
  allowStdout?: boolean;
  /** Skip the git-ignore check (a caller that checks its own way). */
  skipGitCheck?: boolean;
  /**
   * Rewrite the file even when every value is already there, so that nothing observable
   * (the file, its mtime) depends on whether a value in it equals the new one: for callers
   * that must not offer an equality oracle (MCP write_env, for an agent).
   */
  rewrite?: boolean;
  /**
   * Variables to take out of the file when it has them (a rotation's previous value after its
   * grace window); a name also in the values is kept.
   */
  remove?: readonly string[];
  /**
   * The project directory: no directory on the way to the file may lead out of it through a
   * symbolic link (when the file lies in it as named). Default: the working directory.
   */
  within?: string;
  /**
   * No directory on the way may be a symbolic link (rotate --sync: the path an audit record
   * names, exactly); `within` is then not used.
   */
  realDir?: boolean;
}

function notRegular(file: string, what: string): CofferError {
  return new CofferError('INVALID_ARGUMENT', `${file} is ${what}, not a regular .env file`, {
    hint: 'Name a regular file; coffer will not write secrets into a device, a pipe or a directory.',
  });
}

function kindOf(s: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a named pipe (FIFO)';
  if (s.isSocket()) return 'a socket';
  return 'a device or other special file';
}

/**
 * Where a .env file is written: the file itself. Throws for a symbolic link (never followed,
 * files.ts) and for anything else that is not a regular file or a file that does not exist
 * yet; a path the system cannot look at (ENOTDIR, ENAMETOOLONG, EACCES) is an IO_ERROR
 * naming the file.
 */
export function dotenvTarget(file: string): string {
  let own: ReturnType<typeof lstatSync>;
  try {
    own = lstatSync(file, { throwIfNoEntry: false });
  } catch (err) {
    throw fromSystemError(err, file) ?? readError(file, err);
  }
  if (own === undefined || own.isFile()) return file;
  if (own.isSymbolicLink()) throw symlinkRefusal(file);
  throw notRegular(file, kindOf(own));
}

function readError(file: string, err: unknown): CofferError {
  return new CofferError(
    'IO_ERROR',
    `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
  );
}

/**
 * The current text of a .env file ('' when it does not exist), for reading only: a symbolic
 * link to a regular file is followed (reading puts no secret anywhere); devices, pipes and
 * directories are refused.
 */
export function readDotenvFile(file: string): string {
  const s = statSync(file, { throwIfNoEntry: false });
  if (s === undefined) {
    if (lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new CofferError('INVALID_ARGUMENT', `${file} is a symbolic link to nothing`, {
        hint: 'Remove the dangling link or put the .env file it stands for in its place.',
      });
    }
    return '';
  }
  if (!s.isFile()) throw notRegular(file, kindOf(s));
  return decodeUtf8(readFileLimited(file, READ_LIMITS.dotenv, 'a .env file'), file);
}

/**
 * The text of the .env file about to be rewritten, read without following a link
 * (O_NOFOLLOW, where the platform has it): a link swapped in since the check is refused
 * rather than read into the file.
 */
function readOwnDotenvFile(file: string): string {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO swapped in since the target was checked is opened without waiting
    // (and refused below as not a regular file) instead of blocking the write.
    fd = openSync(
      file,
      constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0),
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return '';
    if (code === 'ELOOP') throw symlinkRefusal(file);
    throw readError(file, err);
  }
  try {
    const s = fstatSync(fd);
    if (!s.isFile()) throw notRegular(file, kindOf(s));
    return decodeUtf8(readFdLimited(fd, file, READ_LIMITS.dotenv, 'a .env file'), file);
  } catch (err) {
    if (err instanceof CofferError) throw err;
    throw readError(file, err);
  } finally {
    closeSync(fd);
  }
}

/** Sets `values` (by variable name) in the .env file `file`, per the rules above. */
export function writeDotenv(
  file: string,
  values: Readonly<Record<string, string>>,
  options: DotenvWriteOptions = {},
): DotenvWrite {
  if (file === '-' && options.allowStdout !== true) {
    throw new CofferError('INVALID_ARGUMENT', '"-" (stdout) is not a file this command writes', {
      hint: 'Name the .env file, e.g. --dotenv .env.',
    });
  }
  const stdout = file === '-';
  if (stdout || options.check) return changeDotenv(file, values, options, stdout);
  // Read, change and rename under the file's lock: two writers at once keep both changes.
  return withFileLock(dotenvTarget(file), (lock) =>
    changeDotenv(file, values, options, false, lock.assertHeld),
  );
}

function changeDotenv(
  file: string,
  values: Readonly<Record<string, string>>,
  options: DotenvWriteOptions,
  stdout: boolean,
  beforeCommit?: () => void,
): DotenvWrite {
  const target = stdout ? '-' : dotenvTarget(file);
  const text = stdout ? '' : options.check ? readDotenvFile(file) : readOwnDotenvFile(file);
  const current = parseDotenv(text);
  const changes: DotenvChange[] = [];
  const unchanged: string[] = [];
  const updates: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (Object.hasOwn(current, name) && current[name] === value) {
      unchanged.push(name);
      continue;
    }
    updates[name] = value;
    changes.push({ name, action: Object.hasOwn(current, name) ? 'update' : 'add' });
  }
  const removed = (options.remove ?? []).filter(
    (name) => !Object.hasOwn(values, name) && Object.hasOwn(current, name),
  );
  for (const name of removed) changes.push({ name, action: 'remove' });
  const result: DotenvWrite = {
    file,
    target,
    changes,
    unchanged,
    written: changes.length > 0 || stdout,
    warning: undefined,
    stdout: undefined,
  };
  if (stdout) {
    result.stdout = setDotenvVariables('', values);
    return result;
  }
  if (options.check || (changes.length === 0 && !options.rewrite)) {
    if (!options.skipGitCheck && !options.check) result.warning = gitIgnoreWarning(file);
    return result;
  }
  const kept = removed.length > 0 ? removeDotenvVariables(text, removed) : text;
  writeSecretFile(target, setDotenvVariables(kept, options.rewrite ? values : updates), {
    overwrite: true,
    ...(options.realDir === true ? { realDir: true } : { within: options.within ?? process.cwd() }),
    ...(beforeCommit !== undefined ? { beforeCommit } : {}),
  });
  result.written = true;
  if (!options.skipGitCheck) result.warning = gitIgnoreWarning(file);
  return result;
}
