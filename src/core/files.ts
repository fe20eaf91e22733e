/**
 * Files that hold secrets: written atomically (temp file in the same directory, fsync,
 * rename) with mode 0600, so a reader sees the old file or the new one, never a partial one,
 * and a crash leaves at most a stray temp file, removed by the next write once its writer
 * is gone. This is the one place coffer writes such files; OS-specific details (modes,
 * fsync of the directory, hard links) live here.
 *
 * One rule for where a secret may go, checked here at write time (right before the temp
 * file is made and again right before it is renamed into place), whoever asked for the write:
 * - the file itself is never a symbolic link: a cloned repository's `.env -> ~/.ssh/authorized_keys`
 *   or `.env -> README.md` is refused, not followed. A link put there after the last check is
 *   replaced by the rename (rename(2) replaces a link, it does not follow it), so the secret
 *   stays at the name the caller gave either way;
 * - with `within` (the project directory), a directory on the way may not lead out of it
 *   through a link; with `realDir`, no directory on the way may be a link at all (a path an
 *   audit record names). What Node cannot do is open the directory once and write relative
 *   to it (openat): a directory swapped for a link between the second check and the rename
 *   moves the rename's source too, so it fails rather than writing elsewhere;
 * - an existing file its owner made read-only (no owner write bit) is refused: the rename
 *   needs only the directory, so its mode alone would not stop the write;
 * - "no overwrite" is a hard link of the finished temp file to the name, which fails when the
 *   name exists (EEXIST, atomic), or an O_EXCL create where hard links are not supported: a
 *   file made by someone else meanwhile is never replaced.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { CofferError, fromSystemError } from './errors.js';
import { READ_LIMITS, readRegularFileLimited, TooLargeError } from './read-limited.js';

export interface WriteSecretFileOptions {
  /** Replace an existing file (default false: refuse with ALREADY_EXISTS). */
  overwrite?: boolean;
  /** File mode (default 0o600). */
  mode?: number;
  /** The option that named the file (`--out`): the refusal to overwrite says to pass --force. */
  option?: string;
  /**
   * The project directory: when the path lies in it as written, no directory on the way may
   * lead out of it through a symbolic link (a path named outside it is the caller's choice).
   */
  within?: string | undefined;
  /** No directory on the way may be a symbolic link (the path an audit record names). */
  realDir?: boolean;
  /** Called right before the file is put in place; throws to abandon the write. */
  beforeCommit?: () => void;
}

/** The refusal of a symbolic link where a secret is to be written (where it points is not said). */
export function symlinkRefusal(path: string): CofferError {
  return new CofferError(
    'INVALID_ARGUMENT',
    `${path} is a symbolic link; coffer does not write secrets through one`,
    {
      hint: 'A link can lead anywhere (a cloned repository can ship .env -> ~/.ssh/authorized_keys): remove it, or put the file it stands for in its place, then run it again; nothing was written.',
    },
  );
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The real path of `dir`, or of its nearest existing ancestor with the rest appended. */
function realDirectory(dir: string): string {
  let at = resolve(dir);
  const rest: string[] = [];
  while (!existsSync(at) && at !== dirname(at)) {
    rest.unshift(basename(at));
    at = dirname(at);
  }
  return join(realpathSync(at), ...rest);
}

/**
 * The path `path` names with every link on the way to it resolved, the file itself not
 * (what an audit record of a write names, so rotate --sync can tell a link put there later).
 */
export function realFilePath(path: string): string {
  return join(realDirectory(dirname(resolve(path))), basename(path));
}

/**
 * The write-time checks of the rule above, on `path` as it is now: not a link, not leading
 * out of `within`, not through a link with `realDir`, not read-only.
 * @throws CofferError INVALID_ARGUMENT naming the file (never what it holds or points to).
 */
export function assertWritableTarget(
  path: string,
  options: Pick<WriteSecretFileOptions, 'within' | 'realDir'> = {},
): void {
  const own = lstatSync(path, { throwIfNoEntry: false });
  if (own?.isSymbolicLink()) throw symlinkRefusal(path);
  const dir = dirname(resolve(path));
  if (options.within !== undefined && inside(resolve(options.within), dir)) {
    if (!inside(realpathSync(options.within), realDirectory(dir))) {
      throw new CofferError(
        'INVALID_ARGUMENT',
        `${path} leads out of the project (${options.within}) through a symbolic link`,
        {
          hint: 'coffer writes secrets only inside the project there: replace the linked directory with a directory of the project, then run it again; nothing was written.',
        },
      );
    }
  }
  if (options.realDir === true && existsSync(dir) && realpathSync(dir) !== dir) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `${path} is now reached through a symbolic link; coffer does not write secrets through one`,
      { hint: 'Write the file again where it now is (e.g. coffer env pull); nothing was written.' },
    );
  }
  if (own?.isFile() && (own.mode & 0o200) === 0) throw readOnlyRefusal(path);
}

/** The refusal of a file its owner made read-only. */
export function readOnlyRefusal(path: string, hint?: string): CofferError {
  return new CofferError('INVALID_ARGUMENT', `${path} is read-only`, {
    hint:
      hint ??
      'Its owner made it read-only: make it writable (chmod u+w) if coffer should change it; nothing was written.',
  });
}

/**
 * The writer of a file left behind: which process of which host made it. A sweep removes a
 * file only when this says its writer is gone (writerGone), the one rule of every sweep.
 *
 * "Host" here means a host name and, on Linux, a PID namespace: a pid names a process only
 * within its namespace, so a writer in a sandbox or container that has one of its own (bwrap
 * or firejail with their pid namespace, `unshare -p`, two containers of a Kubernetes pod
 * sharing a volume and a host name) is judged as one of another host: its files are never
 * swept from outside it, whatever process has its pid (often 1) out here. The price: files
 * that such a writer left when killed stay until removed by hand once no coffer runs there,
 * and a container that gets a new host name or pid namespace on each run never sweeps the
 * ones an earlier run left (doctor reports them, with the command to delete them).
 */
export interface Writer {
  readonly pid: number;
  /**
   * The writing host: its tag (hostTag) in a file name or in a lock that names its PID
   * namespace, its name in a lock that does not (a lock of an earlier version, or of a
   * system without /proc); undefined in a file an older coffer made, which named no host
   * and is judged as this host's.
   */
  readonly host?: string | undefined;
  /** The writer's start time (processStartTime), where the writing host had /proc. */
  readonly start?: string | undefined;
}

let ownNamespace: { value: string | undefined } | undefined;

/**
 * This process's PID namespace as Linux names it (`pid:[4026531836]`, the target of
 * /proc/self/ns/pid; its number is the namespace's inode), read once: a process never
 * changes its own. The machine's initial namespace keeps the same number across reboots, so
 * a crashed writer's files are still swept after one. Undefined where it cannot be read (not
 * Linux, no /proc).
 */
export function pidNamespace(): string | undefined {
  if (ownNamespace === undefined) {
    let value: string | undefined;
    try {
      value = readlinkSync('/proc/self/ns/pid');
    } catch {
      value = undefined;
    }
    ownNamespace = {
      value: value !== undefined && /^pid:\[\d+\]$/.test(value) ? value : undefined,
    };
  }
  return ownNamespace.value;
}

/**
 * A host as the files it leaves name it: the first 8 hex digits of the SHA-256 of its name
 * and its PID namespace (of the name alone without one, as every version before namespaces
 * tagged it), so a file on a disk that several hosts or containers share says whose it is
 * without naming the host.
 */
export function hostTagOf(host: string, namespace: string | undefined): string {
  const named = namespace === undefined ? host : `${host}\n${namespace}`;
  return createHash('sha256').update(named).digest('hex').slice(0, 8);
}

/** This host (its name and this process's PID namespace) as the files it leaves name it. */
export function hostTag(): string {
  return hostTagOf(hostname(), pidNamespace());
}

/**
 * Is `host` (a tag, a host name, or none: an older coffer's file) this host? A tag of this
 * host name alone, which versions before namespaces wrote (and a writer that could not read
 * its namespace writes), is this host's, as it was then.
 */
function isThisHost(host: string | undefined): boolean {
  if (host === undefined || host === '' || host === hostTag()) return true;
  const name = hostname();
  return host === name || host === hostTagOf(name, undefined);
}

/**
 * When process `pid` of this host started: field 22 of /proc/PID/stat (clock ticks since
 * boot), which tells a reused pid from the writer that had it. Undefined without /proc (not
 * Linux), or when the process is gone or cannot be read.
 */
export function processStartTime(pid: number): string | undefined {
  if (process.platform !== 'linux') return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2, the command name in parentheses, may hold spaces and parentheses itself: the
  // fields after the last `)` are counted from 3.
  const start = stat
    .slice(stat.lastIndexOf(')') + 1)
    .trim()
    .split(' ')[22 - 3];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

let ownStart: { value: string | undefined } | undefined;

/** This process's start time, read once. */
function thisStartTime(): string | undefined {
  ownStart ??= { value: processStartTime(process.pid) };
  return ownStart.value;
}

/**
 * This process as a file name names its writer: `PID-HOST`, or `PID-HOST-START` where /proc
 * gives the start time (see WRITER).
 */
function writerName(): string {
  const start = thisStartTime();
  return `${process.pid}-${hostTag()}${start === undefined ? '' : `-${start}`}`;
}

/** A writer in a file name: `PID-HOST[-START]` (writerName), or `PID` as earlier versions wrote. */
const WRITER = String.raw`\d+(?:-[0-9a-f]{8}(?:-\d+)?)?`;

/** The writer a file name holds (matched by WRITER). */
function parseWriter(text: string): Writer {
  const [pid = '', host, start] = text.split('-');
  return { pid: Number(pid), host, start };
}

/** What became of a file's writer (writerState). */
export type WriterState = 'running' | 'gone' | 'other-host';

/**
 * What became of a file's writer: `other-host` when another host wrote it, or a process of
 * another PID namespace of this one (a container, a sandbox; see Writer): its pid means
 * nothing here, so it is never judged gone from here. A writer of this host is `gone` when its
 * pid exists no more, or when the process that has the pid now started at another time than
 * the writer (the pid was reused; told only where both start times are known). A file of
 * this very process was left by an earlier process with the same pid (coffer's synchronous
 * writers hold none between calls), unless `ownInUse` says this process may be making one now.
 */
export function writerState(writer: Writer, options: { ownInUse?: boolean } = {}): WriterState {
  if (!isThisHost(writer.host)) return 'other-host';
  if (writer.pid === process.pid) {
    const mine = thisStartTime();
    if (writer.start !== undefined && mine !== undefined && writer.start !== mine) return 'gone';
    return options.ownInUse === true ? 'running' : 'gone';
  }
  if (pidGone(writer.pid)) return 'gone';
  if (writer.start === undefined) return 'running';
  const now = processStartTime(writer.pid);
  return now !== undefined && now !== writer.start ? 'gone' : 'running';
}

/**
 * Whether the writer of a file left behind (a temp file, a lock or its pid file, a vault
 * build, a copy of a key) is gone, so the file may be removed: the rule of every sweep
 * (writerState). Another host's file (or another PID namespace's) is never removed from here:
 * on a shared disk its writer may be running there, whatever pid runs here.
 */
export function writerGone(writer: Writer, options: { ownInUse?: boolean } = {}): boolean {
  return writerState(writer, options) === 'gone';
}

/** The name of a temp file of `path`: `NAME.coffer-PID-HOST[-START]-HEX.tmp` (see TEMP_SUFFIX). */
function tempName(path: string): string {
  return `${path}.coffer-${writerName()}-${randomBytes(4).toString('hex')}.tmp`;
}

/**
 * What follows `NAME.` in a temp file coffer made for NAME: `coffer-WRITER-HEX.tmp` (a WRITER
 * of a pid alone as earlier versions wrote it), or `PID.HEX.tmp` as versions before 0.x named
 * them. Group 1 is the writer, or group 2 its pid.
 */
const TEMP_SUFFIX = String.raw`(?:coffer-(${WRITER})-[0-9a-f]{8}|(\d+)\.[0-9a-f]{8})\.tmp`;
const TEMP = new RegExp(`^${TEMP_SUFFIX}$`);

function tempWriter(m: RegExpExecArray): Writer {
  return m[1] !== undefined ? parseWriter(m[1]) : { pid: Number(m[2]) };
}

/**
 * The coffer writer that made `name` as a temp file for a file named `base`, or undefined
 * when `name` is not one.
 */
export function tempFileWriter(name: string, base: string): Writer | undefined {
  if (!name.startsWith(`${base}.`)) return undefined;
  const m = TEMP.exec(name.slice(base.length + 1));
  return m === null ? undefined : tempWriter(m);
}

/** A temp file coffer made for any file: `NAME.` and the suffix above. */
const ANY_TEMP = new RegExp(`^.+\\.${TEMP_SUFFIX}$`);
/** The same, with `NAME` as group 1. */
const ANY_TEMP_BASE = new RegExp(`^(.+)\\.${TEMP_SUFFIX}$`);

/** The coffer writer that made `name` (a file name, no directory) as a temp file of any file. */
export function cofferTempFileWriter(name: string): Writer | undefined {
  const m = ANY_TEMP.exec(name);
  return m === null ? undefined : tempWriter(m);
}

/** Is `name` (a file name, no directory) named as coffer names its temp files? */
export function isCofferTempFile(name: string): boolean {
  return ANY_TEMP.test(name);
}

/** A lock (`NAME.lock`), its takeover (`NAME.lock.takeover`), or a pid file of either. */
const LOCK_NAME = new RegExp(String.raw`^(.+)\.lock(?:\.takeover)?(?:\.${WRITER}\.[0-9a-f]{8})?$`);

/**
 * The name of the file a coffer write of it left `name` (a file name, no directory) beside,
 * or undefined when `name` is none of those: its lock `NAME.lock` and the lock's takeover
 * `NAME.lock.takeover` (withFileLock), their pid files (`NAME.lock.WRITER.HEX`,
 * `NAME.lock.takeover.WRITER.HEX`), and a temp file (`NAME.coffer-WRITER-HEX.tmp`, or
 * `NAME.PID.HEX.tmp` as earlier versions named it). What looks for files by name (`.env*`)
 * asks this first, so that `.env.lock` is not taken for a .env file.
 */
export function writerFileOf(name: string): string | undefined {
  const temp = ANY_TEMP_BASE.exec(name);
  if (temp !== null) return temp[1];
  return LOCK_NAME.exec(name)?.[1];
}

/**
 * A name for a file of this process's own beside `path`: `PATH.WRITER.HEX` and `suffix`
 * (a vault being built, `vault.db.WRITER.HEX.tmp`; a key file being written,
 * `master.key.WRITER.HEX.new`; a lock's pid file, `NAME.lock.WRITER.HEX`). One a killed
 * process left is found by privateFileWriter and removed once writerGone says so.
 */
export function privateFileName(path: string, suffix = ''): string {
  return `${path}.${writerName()}.${randomBytes(4).toString('hex')}${suffix}`;
}

/**
 * The writer of `name` when it is a private file (privateFileName) of a file named `base`,
 * its suffix matching the regular expression `suffix`, or (with `temps`) a temp file of one
 * (writeSecretFile writes it through one); undefined otherwise. Names with a pid alone, as
 * earlier versions made them (`vault.db.PID.HEX.tmp`), are read too.
 */
export function privateFileWriter(
  name: string,
  base: string,
  suffix: string,
  options: { temps?: boolean } = {},
): Writer | undefined {
  if (!name.startsWith(`${base}.`)) return undefined;
  const temp = options.temps === true ? `(?:\\.${TEMP_SUFFIX})?` : '';
  const m = new RegExp(`^(${WRITER})\\.[0-9a-f]{8}${suffix}${temp}$`).exec(
    name.slice(base.length + 1),
  );
  return m?.[1] === undefined ? undefined : parseWriter(m[1]);
}

/**
 * Removes the temp files of `path` whose writer is gone (killed between creating one and
 * renaming it): they hold a whole secret file, under a name no ignore rule of the file
 * covers. A directory that cannot be listed is left as it is.
 */
function removeStrayTemps(path: string): void {
  const base = basename(path);
  removeLeftovers(dirname(path), (name) => {
    const writer = tempFileWriter(name, base);
    return writer !== undefined && writerGone(writer);
  });
}

/**
 * Removes the files of `dir` that `left(name)` says a gone writer left behind (a killed
 * writer's temp file, lock pid file, vault build or key copy; each sweep asks writerGone). A
 * directory that cannot be listed, and a file that is gone meanwhile or not ours to remove,
 * are left as they are.
 */
export function removeLeftovers(dir: string, left: (name: string) => boolean): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    try {
      if (left(name)) rmSync(join(dir, name), { force: true });
    } catch {
      // Gone meanwhile, or not ours to remove: it stays.
    }
  }
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
  if (!options.overwrite && lstatSync(path, { throwIfNoEntry: false }) !== undefined) {
    throw fileExistsError(path, options.option);
  }
  assertWritableTarget(path, options);
  const dir = dirname(path);
  const tmp = tempName(path);
  try {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    removeStrayTemps(path);
    const fd = openSync(tmp, 'wx', mode);
    try {
      writeFileSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, mode);
    // Checked again at the last moment: the write may have taken a while (a large file).
    assertWritableTarget(path, options);
    options.beforeCommit?.();
    if (options.overwrite) renameSync(tmp, path);
    else if (publishExclusive(tmp, path, content, mode) === undefined) {
      throw fileExistsError(path, options.option);
    } else rmSync(tmp, { force: true });
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

/** The errors of a hard link on a file system that has none (FAT, exFAT, some SMB/NFS mounts). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/** Did this link(2) fail because the file system has no hard links (not because of the name)? */
export function noHardLinks(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && NO_HARD_LINKS.has(code);
}

/**
 * Gives the file `own` (written whole, this process's) the name `path` unless `path` exists,
 * atomically: a hard link, which fails with EEXIST when the name is taken (by anything, a
 * dangling link included); where the file system has no hard links, an O_EXCL create of
 * `path` holding `content`. `own` stays for the caller to remove. The one way coffer makes a
 * file that must not replace another: a secret file without overwrite, a lock, a key file.
 * @returns the file now at `path` (its device and inode), or undefined when `path` existed.
 */
export function publishExclusive(
  own: string,
  path: string,
  content: string | Uint8Array,
  mode: number,
): Stats | undefined {
  try {
    linkSync(own, path);
    return statSync(own);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    if (!noHardLinks(err)) throw err;
  }
  let fd: number;
  try {
    fd = openSync(path, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw err;
  }
  try {
    writeFileSync(fd, content);
    fsyncSync(fd);
    return fstatSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes a new name in `dir` durable (a rename, a link); best effort: not every platform or
 * file system lets a directory be opened, and the name change itself is atomic anyway.
 */
export function syncDirectory(dir: string): void {
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
/**
 * A lock from another host (a shared disk) or another PID namespace of this one (a container
 * sharing the directory) older than this was left by a writer that died: its pid cannot be
 * checked from here. A lock of this host is judged by its pid and start time alone.
 */
const LOCK_STALE_MS = 60_000;

/**
 * What a lock (and a writer's pid file) holds: `PID\nHOST\nTOKEN\n`, then `START\n` (the
 * writer's start time, empty when unknown) and `NAMESPACE\n` (its PID namespace) where /proc
 * gives them. Earlier versions read the first two lines, or the first four, only.
 */
function holding(token: string): string {
  const start = thisStartTime() ?? '';
  const namespace = pidNamespace();
  const tail =
    namespace === undefined ? (start === '' ? '' : `${start}\n`) : `${start}\n${namespace}\n`;
  return `${process.pid}\n${hostname()}\n${token}\n${tail}`;
}

/** Whether process `pid` of this host is gone (no such process). */
function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The refusal of a file in a lock's place that coffer cannot have written. */
function notALock(lock: string, message: string): CofferError {
  return new CofferError('INVALID_ARGUMENT', message, {
    hint: `coffer takes ${lock} while it writes the file beside it, and this is no lock it made: remove it (or move it away), then run the command again. Nothing was written.`,
  });
}

/**
 * What a lock (or a writer's pid file) holds, read under READ_LIMITS.lockFile; undefined
 * when it cannot be read (removed meanwhile). A file in its place that is not a regular file
 * (a FIFO, a link to a device) or is larger than any lock coffer writes is refused, unread:
 * waiting for it to go would be waiting for nothing, and reading it could never end.
 */
function lockText(lock: string): string | undefined {
  let bytes: Buffer | undefined;
  try {
    bytes = readRegularFileLimited(lock, READ_LIMITS.lockFile, 'a lock file');
  } catch (err) {
    if (err instanceof TooLargeError) throw notALock(lock, err.message);
    return undefined;
  }
  if (bytes === undefined) {
    throw notALock(lock, `${lock} is not a regular file, so not a lock coffer made`);
  }
  return bytes.toString('utf8');
}

/**
 * Whether a lock file was left behind. A lock of this host (or one written by an older
 * coffer, which held the pid only) is abandoned when its writer is gone (writerState: its pid
 * exists no more, or now belongs to a process started later), a pid-only one also once it is
 * older than LOCK_STALE_MS, and a lock of this host naming its host never while it lives,
 * however long it takes (a large .env): taking a live writer's lock would let two writers
 * rename over each other and lose a change. Only a lock whose process cannot be checked from
 * here (another host's or another PID namespace's, or one not written yet) is judged by its
 * age.
 */
function abandoned(lock: string): boolean {
  const held = statSync(lock, { throwIfNoEntry: false });
  if (held === undefined) return false;
  const old = Date.now() - held.mtimeMs > LOCK_STALE_MS;
  const text = lockText(lock);
  if (text === undefined) return false;
  const writer = lockHolder(text);
  if (writer === undefined) return old;
  const state = writerState(writer);
  if (state === 'gone') return true;
  // A lock naming only a pid (as an older coffer wrote it) whose pid runs is judged by its age
  // as well: such a file may come from anywhere (a repository can commit `.env.lock` holding
  // `1`, a pid that always runs), and would otherwise stop every write for good.
  return state === 'other-host' || !writer.host ? old : false;
}

/** The writer a lock's text names (see holding), or undefined when it names no pid. */
function lockHolder(text: string): Writer | undefined {
  const [pidText = '', host, , start, namespace] = text.split('\n');
  const pid = Number(pidText);
  if (pidText === '' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  // A lock that names its writer's namespace is judged by its tag; one that does not (an
  // earlier version's, or one written without /proc) by its host name, as before.
  const tag =
    namespace === undefined || namespace === '' || host === undefined
      ? host
      : hostTagOf(host, namespace);
  return { pid, host: tag, start: start === '' ? undefined : start };
}

/**
 * The writer a lock file (`NAME.lock`, or its `NAME.lock.takeover`) names, read as a writer
 * reads it; undefined when it cannot be read, is no lock coffer made (too large, not a
 * regular file) or names no pid. For a report of locks a killed writer left (doctor).
 */
export function lockFileWriter(lock: string): Writer | undefined {
  let text: string | undefined;
  try {
    text = lockText(lock);
  } catch {
    return undefined;
  }
  return text === undefined ? undefined : lockHolder(text);
}

/**
 * Removes the lock `lock` once its writer, of this host, is gone (writerState), the way a
 * writer takes an abandoned lock over: holding `lock.takeover` and checking again, so that a
 * writer that took the lock meanwhile keeps it. A takeover lock (`NAME.lock.takeover`) is
 * removed once its own writer is gone, as a writer waiting on it does. The lock of a writer
 * that runs, or of another host or PID namespace, stays (whatever its age: a writer judges
 * that one by its age when it needs the lock).
 */
export function removeDeadLock(lock: string): void {
  const gone = () => {
    const writer = lockFileWriter(lock);
    return writer !== undefined && writerState(writer) === 'gone';
  };
  if (!gone()) return;
  if (lock.endsWith('.takeover')) {
    rmSync(lock, { force: true });
    return;
  }
  const takeover = `${lock}.takeover`;
  if (!createHolding(takeover)) return; // another writer is taking it over
  try {
    if (gone()) rmSync(lock, { force: true });
  } finally {
    rmSync(takeover, { force: true });
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
function createHolding(path: string, token = randomBytes(8).toString('hex')): boolean {
  const own = privateFileName(path);
  const cannotLock = (err: unknown) =>
    new CofferError(
      'IO_ERROR',
      `cannot lock ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: err },
    );
  const content = holding(token);
  try {
    writeFileSync(own, content, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    throw cannotLock(err);
  }
  try {
    return publishExclusive(own, path, content, 0o600) !== undefined;
  } catch (err) {
    throw cannotLock(err);
  } finally {
    rmSync(own, { force: true });
  }
}

/** Blocks the thread for `ms` (a lock wait in synchronous code). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** What `withFileLock` hands its function. */
export interface HeldLock {
  /**
   * Throws STORE_LOCKED unless the lock still holds this writer's token: pass it as
   * `beforeCommit` to the write, so a writer whose lock was taken over (another host's
   * writer judged it stale by its age) renames nothing over the other's change.
   */
  assertHeld(): void;
}

/**
 * Runs `fn` (a read, change and atomic rewrite of `path`) while holding `path.lock`, so that
 * two coffer processes changing one file (`set --dotenv` twice at once) each keep the other's
 * change instead of the last rename winning. The lock is a file made with O_EXCL holding the
 * writer's pid, host, a random token and (on Linux) its start time and PID namespace, removed
 * afterwards; one left by a killed process is taken over (its writer is gone: no process has
 * its pid, or the one that has it started at another time; for the lock of another host or
 * of another PID namespace, it is a minute old). Temp files that dead writers left beside
 * `path` go with the next write (writeSecretFile).
 * @throws CofferError STORE_LOCKED when another writer holds it for more than `waitMs` (10 s).
 */
export function withFileLock<T>(
  path: string,
  fn: (lock: HeldLock) => T,
  options: { waitMs?: number } = {},
): T {
  const lock = `${path}.lock`;
  const deadline = Date.now() + (options.waitMs ?? LOCK_WAIT_MS);
  // The file's directory may not exist yet: made as writeSecretFile would make it.
  const dir = dirname(path);
  if (!existsSync(dir)) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw fromSystemError(err) ?? err;
    }
  }
  const token = randomBytes(8).toString('hex');
  while (!createHolding(lock, token)) {
    if (abandoned(lock)) takeOver(lock);
    else pause(5 + Math.floor(Math.random() * 10));
    if (Date.now() > deadline) {
      throw new CofferError('STORE_LOCKED', `${path} is being written by another coffer process`, {
        hint: `Retry in a moment; if no coffer is running, remove ${lock}.`,
      });
    }
  }
  const mine = holding(token);
  const held = (): boolean => {
    try {
      return lockText(lock) === mine;
    } catch {
      return false;
    }
  };
  try {
    removeStrays(lock);
    return fn({
      assertHeld: () => {
        if (!held()) {
          throw new CofferError(
            'STORE_LOCKED',
            `another coffer process took over the lock of ${path}; nothing was written`,
            { hint: 'Run the command again.' },
          );
        }
      },
    });
  } finally {
    // A lock taken over meanwhile is the other writer's now.
    if (held()) rmSync(lock, { force: true });
  }
}

/**
 * Removes the pid files (`NAME.lock.WRITER.HEX`, `NAME.lock.takeover.WRITER.HEX`) that writers
 * killed between making one and linking it left beside the file, once their writer is gone.
 * One named with a pid alone (an earlier version's) is judged as a lock, by what it holds.
 * Called holding the lock; a directory that cannot be listed is left as it is.
 */
function removeStrays(lock: string): void {
  const base = basename(lock);
  const dir = dirname(lock);
  removeLeftovers(dir, (name) => {
    const writer =
      privateFileWriter(name, base, '') ?? privateFileWriter(name, `${base}.takeover`, '');
    if (writer === undefined) return false;
    return writer.host === undefined ? strayAbandoned(join(dir, name)) : writerGone(writer);
  });
}

/** Whether a writer's pid file was left behind; one coffer cannot have made is left alone. */
function strayAbandoned(file: string): boolean {
  try {
    return abandoned(file);
  } catch {
    return false;
  }
}
