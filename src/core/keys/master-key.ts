/**
 * Where the master key comes from, first match wins:
 *   1. `COFFER_MASTER_KEY`: base64 of 32 random bytes;
 *   2. a key file (base64 of 32 bytes, one line, mode 0600 or stricter, owned by the user
 *      running coffer), created by `coffer init` at `$COFFER_HOME/master.key` unless told
 *      otherwise;
 *   3. a passphrase, stretched with scrypt using the parameters stored in the vault
 *      (chosen by `newScryptParams` when the vault is made: 2^18 by default, 2^14 at least).
 *
 * The key file is refused when group or others may read it, or another user owns it, as ssh
 * refuses such keys.
 * Nothing here prints or logs key material; errors name the source, never its content.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, rmSync, type Stats, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { KEY_BYTES } from '../crypto/aead.js';
import {
  DEFAULT_SCRYPT_LOG_N,
  MAX_SCRYPT_LOG_N,
  MIN_NEW_SCRYPT_LOG_N,
  NEW_SCRYPT_P,
  NEW_SCRYPT_R,
  type ScryptParams,
} from '../crypto/kdf.js';
import { CofferError } from '../errors.js';
import {
  privateFileName,
  privateFileWriter,
  publishExclusive,
  removeLeftovers,
  syncDirectory,
  type Writer,
  writerGone,
  writeSecretFile,
} from '../files.js';
import { READ_LIMITS, readFdLimited } from '../read-limited.js';

/** Decodes a base64 master key; `source` names where it came from in errors. */
export function parseMasterKey(text: string, source: string): Uint8Array {
  const trimmed = text.trim();
  const ok = /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed);
  const bytes = ok
    ? Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
    : Buffer.alloc(0);
  if (bytes.length !== KEY_BYTES) {
    bytes.fill(0);
    throw new CofferError('WRONG_KEY', `${source} is not base64 of ${KEY_BYTES} bytes`, {
      hint: 'Generate one with `openssl rand -base64 32` or let `coffer init` create a key file.',
    });
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Reads a key file, refusing one that group or others can read or that another user owns
 * (whoever owns it can change it or its mode at any time, so it is not ours to trust; ssh
 * refuses such keys too). The checks use the fstat of the file descriptor the key is read
 * from, so the file checked is the file read. Off POSIX (Windows) there are no modes or
 * owners to check.
 */
export function readKeyFile(path: string): Uint8Array {
  let fd: number | undefined;
  try {
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CofferError(
        code === 'ENOENT' ? 'MASTER_KEY_MISSING' : 'IO_ERROR',
        code === 'ENOENT'
          ? `the key file ${path} does not exist`
          : `cannot read the key file ${path} (${code})`,
        { cause: err },
      );
    }
    const stat = fstatSync(fd);
    // A pipe (`--key-file <(pass show coffer)`) is fine: the owner and mode rules apply to it too.
    if (stat.isDirectory()) {
      throw new CofferError('IO_ERROR', `the key file ${path} is a directory`);
    }
    if (process.platform !== 'win32') checkKeyFileStat(path, stat);
    const text = readFdLimited(fd, path, READ_LIMITS.keyFile, 'a key file');
    try {
      return parseMasterKey(text.toString('utf8'), `the key file ${path}`);
    } finally {
      text.fill(0);
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The error for a vault that exists while its key file does not. A new key cannot open the
 * vault, so `coffer init` is no way out: the key has to come back from where it was kept.
 */
export function keyFileMissingError(keyFile: string, vault: string, cause?: unknown): CofferError {
  return new CofferError(
    'MASTER_KEY_MISSING',
    `the vault ${vault} exists, but its key file ${keyFile} does not`,
    {
      hint:
        `Restore the key file from your backup to ${keyFile} (mode 0600), point to it with ` +
        '--key-file PATH or COFFER_KEY_FILE, or set COFFER_MASTER_KEY to the key (base64). ' +
        '`coffer init` cannot help: a new key does not open this vault.',
      cause,
    },
  );
}

/** The ownership and mode rules of a key file (POSIX). */
function checkKeyFileStat(path: string, stat: Stats): void {
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) {
    throw new CofferError(
      'KEY_FILE_INSECURE',
      `the key file ${path} is owned by another user (uid ${stat.uid}, not ${uid})`,
      {
        hint: `Its owner may have chosen the key or may change it. If the file is yours, run: chown ${uid} ${path}`,
      },
    );
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new CofferError(
      'KEY_FILE_INSECURE',
      `the key file ${path} can be read by other users (mode ${(stat.mode & 0o777).toString(8)})`,
      { hint: `Run: chmod 600 ${path}` },
    );
  }
}

/** Creates a new random master key and writes it to a key file (0600). */
export function createKeyFile(path: string): Uint8Array {
  const key = new Uint8Array(randomBytes(KEY_BYTES));
  if (writeNewKeyFile(path, key) === undefined) {
    key.fill(0);
    throw new CofferError('ALREADY_EXISTS', `${path} already exists; coffer will not overwrite it`);
  }
  return key;
}

/** A key file this process created: which file it is, so that only that very file is removed. */
export interface CreatedKeyFile {
  path: string;
  dev: number;
  ino: number;
}

/**
 * Writes `key` to a new key file at `path` (mode 0600), never replacing one: the key goes into
 * a file of its own first (written whole, fsynced), then a hard link gives it the name, which
 * fails when the name exists. So two processes making the same key file at once (two `coffer
 * init`) never overwrite each other's key: undefined when `path` exists (another process made
 * it). The result names the file made, for removeCreatedKeyFile.
 */
export function writeNewKeyFile(path: string, key: Uint8Array): CreatedKeyFile | undefined {
  // A run killed between writing its own file and linking it left a copy of a key there
  // (mode 0600): removed once its writer is gone (another host's, or another PID namespace's,
  // is left to it).
  const base = basename(path);
  removeLeftovers(dirname(path), (name) => {
    const writer = keyFileCopyWriter(name, base);
    return writer !== undefined && writerGone(writer);
  });
  const own = privateFileName(path, '.new');
  const content = `${Buffer.from(key).toString('base64')}\n`;
  writeSecretFile(own, content);
  try {
    let made: ReturnType<typeof publishExclusive>;
    try {
      made = publishExclusive(own, path, content, 0o600);
    } catch (err) {
      throw new CofferError(
        'IO_ERROR',
        `cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        { cause: err },
      );
    }
    if (made === undefined) return undefined;
    syncDirectory(dirname(path));
    return { path, dev: made.dev, ino: made.ino };
  } finally {
    rmSync(own, { force: true });
  }
}

/**
 * The writer of `name` when it is a copy of a key that writeNewKeyFile makes beside the key
 * file named `base` (`master.key.WRITER.HEX.new`, or the temp file it is written through),
 * else undefined. A run killed while writing the key file leaves one, and it holds the key:
 * writeNewKeyFile removes those whose writer is gone, doctor reports them.
 */
export function keyFileCopyWriter(name: string, base: string): Writer | undefined {
  return privateFileWriter(name, base, String.raw`\.new`, { temps: true });
}

/** Removes a key file this process made, if it is still that file (not one made since). */
export function removeCreatedKeyFile(created: CreatedKeyFile): void {
  const now = statSync(created.path, { throwIfNoEntry: false });
  if (now !== undefined && now.dev === created.dev && now.ino === created.ino) {
    rmSync(created.path, { force: true });
  }
}

/**
 * Fresh scrypt parameters for a new passphrase vault, with a random salt. `logN` (default
 * 2^18) may not go below 2^14: a cheaper cost would make guessing the passphrase from a
 * copy of the vault too cheap. Throws INVALID_ARGUMENT outside 14..22.
 */
export function newScryptParams(logN: number = DEFAULT_SCRYPT_LOG_N): ScryptParams {
  if (!Number.isInteger(logN) || logN < MIN_NEW_SCRYPT_LOG_N || logN > MAX_SCRYPT_LOG_N) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `the scrypt cost log2(N) of a new vault must be ${MIN_NEW_SCRYPT_LOG_N}..${MAX_SCRYPT_LOG_N}`,
      { hint: `Leave it out for the default, ${DEFAULT_SCRYPT_LOG_N}.` },
    );
  }
  return { logN, r: NEW_SCRYPT_R, p: NEW_SCRYPT_P, salt: randomBytes(16).toString('base64') };
}
