/**
 * Reading a file coffer is given from outside (a .env to import, a key file, a backup, an
 * age identity file, an audit checkpoint, a scan baseline) with a size cap: the file is read from one descriptor
 * in chunks and reading stops as soon as it passes the cap, so a device (`/dev/zero`), an
 * endless pipe (`--key-file <(yes)`) or a huge file ends in a clear error naming the file
 * and the limit, with memory bounded by the cap, never in a hang, an out-of-memory abort or
 * a wrong "not valid UTF-8". The CLI's stdin reader refuses an input past its limit with the
 * same message (`tooLarge`, naming `stdin`).
 *
 * Files coffer finds rather than is handed (a project file, a git hook, an agent's settings,
 * a lock) are read with `readRegularFileLimited`: only a regular file is read, so a FIFO or
 * a device in their place is passed over without waiting for a writer that never comes.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  type Stats,
  statSync,
} from 'node:fs';
import { CofferError, readFailure } from './errors.js';

const MiB = 1024 * 1024;

/** The largest file of each kind coffer reads. */
export const READ_LIMITS: {
  readonly dotenv: number;
  readonly keyFile: number;
  readonly checkpoint: number;
  readonly baseline: number;
  readonly backup: number;
  readonly ageIdentity: number;
  readonly projectFile: number;
  readonly template: number;
  readonly agentSettings: number;
  readonly agentInstructions: number;
  readonly doctorFile: number;
  readonly ignoreFile: number;
  readonly gitHook: number;
  readonly lockFile: number;
  readonly tlsFile: number;
} = {
  /** A .env (or any text of variables) to parse or import. */
  dotenv: 16 * MiB,
  /** A master key file: base64 of 32 bytes and a newline. */
  keyFile: 1024,
  /** An audit checkpoint (`coffer audit head` output). */
  checkpoint: 64 * 1024,
  /** A detect-secrets baseline. */
  baseline: 16 * MiB,
  /** A backup: a whole vault, encrypted. */
  backup: 1024 * MiB,
  /**
   * An age identity file (`--identity`): `AGE-SECRET-KEY-1...` lines of 74 characters, plugin
   * identities of a few hundred, and comments. 64 KiB holds hundreds of keys.
   */
  ageIdentity: 64 * 1024,
  /**
   * A project file (`.coffer`, `coffer.yaml`, `coffer.yml`), read by almost every command run
   * in a project directory. A `.coffer` is a few lines, but `coffer.yaml` is also the
   * manifest, so this is the manifest's limit (MAX_MANIFEST_BYTES, 1 MiB): any manifest coffer
   * accepts is also read as a project file.
   */
  projectFile: MiB,
  /**
   * A template of `coffer inject`: a configuration file with references in it (a YAML, a
   * .properties, a unit file) is kilobytes; 1 MiB, the limit it always had, is far past one
   * and keeps the rendered copy, held in memory with the secrets in it, small.
   */
  template: MiB,
  /**
   * A coding agent's settings in a project (`.mcp.json`, `.claude/settings.json`,
   * `.codex/config.toml`, `.cursorignore`): hand-edited files of a few kilobytes; 1 MiB is far
   * past any, and bounds what a cloned repository can make `coffer agent setup` hold.
   */
  agentSettings: MiB,
  /**
   * A coding agent's instructions file (`AGENTS.md`, `CLAUDE.md`): agents read only the first
   * tens of kilobytes (Codex 32 KiB by default), so 1 MiB holds any that is read whole.
   */
  agentInstructions: MiB,
  /**
   * A file `coffer doctor` holds as text for its checks: sources, deployment files and .env
   * files are far smaller, but an agent's own state file (`~/.claude.json` keeps every
   * project's history beside its MCP servers) reaches tens of MiB. Past this a file is read
   * by no check, as one that cannot be read, and the secret scan reads it in chunks instead.
   */
  doctorFile: 64 * MiB,
  /**
   * An ignore file coffer reads whole to add to it or to look for `.env` in it (`.gitignore`,
   * `.dockerignore`: `coffer doctor --fix`, `coffer incident`): lists of patterns, kilobytes
   * even when generated; 16 MiB, the limit of a .env file, is far past any.
   */
  ignoreFile: 16 * MiB,
  /**
   * A git pre-commit hook, read to tell coffer's own (a few hundred bytes) from another and
   * whether that one runs a scanner, and the pre-commit framework's `.pre-commit-config.yaml`:
   * scripts and configs of kilobytes. A larger hook is a program, not coffer's: it is chained
   * or passed over unread, never refused.
   */
  gitHook: MiB,
  /**
   * The lock beside a file coffer rewrites (`.env.lock`: `PID\nHOST\nTOKEN\n`, files.ts): a
   * pid, a host name (at most 255 bytes) and 16 hex digits. A file larger than 1 KiB in its
   * place is no lock coffer made.
   */
  lockFile: 1024,
  /**
   * A PEM file of `coffer serve --tls-cert/--tls-key`: a key is a few hundred bytes, a
   * certificate about 2 KiB, so 1 MiB holds a chain of hundreds.
   */
  tlsFile: MiB,
};

/** `16 MiB`, `64 KiB`, `1024 bytes`. */
function size(bytes: number): string {
  if (bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes % 1024 === 0 && bytes > 1024) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

export interface TooLargeOptions {
  /** VALUE_TOO_LARGE for a secret's value; INVALID_ARGUMENT (the default) for a file. */
  code?: 'INVALID_ARGUMENT' | 'VALUE_TOO_LARGE';
  hint?: string;
}

/**
 * An input refused for its size (`tooLarge`): its own type, so a caller that passes over a
 * file too large (doctor, the hook installer) tells it from a file that could not be read.
 */
export class TooLargeError extends CofferError {
  /** The file, or `stdin`. */
  readonly source: string;
  /** The limit it passed, in bytes. */
  readonly limit: number;

  constructor(source: string, limit: number, what: string, options: TooLargeOptions = {}) {
    super(
      options.code ?? 'INVALID_ARGUMENT',
      `${source} is larger than ${size(limit)}, the limit for ${what}`,
      { hint: options.hint ?? `Check that ${source} is the file you meant.` },
    );
    this.source = source;
    this.limit = limit;
  }
}

/**
 * The refusal of an input past its limit: it names the input (`source`, a file or `stdin`),
 * the limit and what the limit is for (`what`), never a byte of the input itself.
 */
export function tooLarge(
  source: string,
  limit: number,
  what: string,
  options: TooLargeOptions = {},
): TooLargeError {
  return new TooLargeError(source, limit, what, options);
}

/**
 * Reads the open descriptor `fd` of `file` to its end, refusing it once it passes `limit`
 * bytes (`what` names the kind of file in the error).
 */
export function readFdLimited(fd: number, file: string, limit: number, what: string): Buffer {
  const stat = fstatSync(fd);
  if (stat.isDirectory()) throw new CofferError('IO_ERROR', `${file} is a directory`);
  if (stat.isFile() && stat.size > limit) throw tooLarge(file, limit, what);
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    // One byte past the cap tells a file of exactly `limit` bytes from a larger one.
    const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, limit + 1 - total));
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw readFailure(file, err);
    }
    if (n === 0) break;
    total += n;
    if (total > limit) throw tooLarge(file, limit, what);
    chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
  }
  return Buffer.concat(chunks, total);
}

/** Reads `file` whole, up to `limit` bytes (see readFdLimited). */
export function readFileLimited(file: string, limit: number, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw readFailure(file, err);
  }
  try {
    return readFdLimited(fd, file, limit, what);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads `file` whole, up to `limit` bytes, when it is a regular file (a link to one
 * included); undefined when it is something else: a directory, a FIFO, a device, a socket.
 * Such a file is never read, and is opened only non-blocking (to check that the file opened
 * is still the one looked at), so an endless device or a pipe without a writer cannot hang
 * the caller. Errors as readFileLimited's: FILE_NOT_FOUND, IO_ERROR, TooLargeError.
 */
export function readRegularFileLimited(
  file: string,
  limit: number,
  what: string,
): Buffer | undefined {
  let fd: number;
  try {
    // Looked at first: a device is not even opened (opening some has effects of its own).
    if (!statSync(file).isFile()) return undefined;
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw readFailure(file, err);
  }
  try {
    // Replaced by a FIFO or a device since it was looked at: passed over all the same.
    if (!fstatSync(fd).isFile()) return undefined;
    return readFdLimited(fd, file, limit, what);
  } finally {
    closeSync(fd);
  }
}

/**
 * A file looked for that is there: its bytes, or why it could not be read (`unreadable`).
 * Undefined: there is no such file.
 */
export type FoundFile = { readonly bytes: Buffer } | { readonly unreadable: string } | undefined;

/** Why system errors keep a file that is there from being read, in a report's words. */
const UNREADABLE: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'a link loop',
  EISDIR: 'a directory',
  ENAMETOOLONG: 'its name is too long',
};

/** What a file that is not a regular one is, for `not a regular file (a FIFO)`. */
function kindOf(stat: Stats | undefined): string {
  if (stat === undefined) return 'not a regular file';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'not a regular file (a FIFO)';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'not a regular file (a device)';
  if (stat.isSocket()) return 'not a regular file (a socket)';
  return 'not a regular file';
}

function lstatOrUndefined(file: string): Stats | undefined {
  try {
    return lstatSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/**
 * Why `file` could not be read, for an error readRegularFileLimited threw for it: `larger than
 * 16 MiB`, `permission denied`, `a dangling link`...; undefined when the file is not there.
 */
export function unreadableReason(file: string, err: unknown): string | undefined {
  if (err instanceof TooLargeError) return `larger than ${size(err.limit)}`;
  const e = err as Error & { code?: string; cause?: { code?: unknown } };
  const code = typeof e?.cause?.code === 'string' ? e.cause.code : e?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    // Not there, unless a link is, whose target is not.
    return lstatOrUndefined(file)?.isSymbolicLink() === true ? 'a dangling link' : undefined;
  }
  return UNREADABLE[code ?? ''] ?? `cannot be read (${code ?? 'error'})`;
}

/** What `file` is, when readRegularFileLimited passed it over: `not a regular file (a FIFO)`. */
export function notRegularReason(file: string): string {
  let stat: Stats | undefined;
  try {
    stat = statSync(file);
  } catch {
    stat = undefined;
  }
  return kindOf(stat);
}

/**
 * Reads a file coffer looks for (readRegularFileLimited) and tells a file that is not there
 * (undefined) from one that is there but cannot be read, with the reason in words a report
 * can show: `larger than 16 MiB`, `permission denied`, `not a regular file (a FIFO)`, `a
 * directory`, `a dangling link`. A check that passes such a file over says so instead of
 * treating it as absent (`coffer doctor`). Never throws for the file itself.
 */
export function readFoundFile(file: string, limit: number, what: string): FoundFile {
  let bytes: Buffer | undefined;
  try {
    bytes = readRegularFileLimited(file, limit, what);
  } catch (err) {
    const reason = unreadableReason(file, err);
    return reason === undefined ? undefined : { unreadable: reason };
  }
  return bytes === undefined ? { unreadable: notRegularReason(file) } : { bytes };
}
