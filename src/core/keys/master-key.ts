/**
 * Where the master key comes from, first match wins:
 *   1. `COFFER_MASTER_KEY`: base64 of 32 random bytes;
 *   2. a key file (base64 of 32 bytes, one line, mode 0600 or stricter), created by
 *      `coffer init` at `$COFFER_HOME/master.key` unless told otherwise;
 *   3. a passphrase, stretched with scrypt using the parameters stored in the vault.
 *
 * The key file is refused when group or others may read it, as ssh refuses such keys.
 * Nothing here prints or logs key material; errors name the source, never its content.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { KEY_BYTES } from '../crypto/aead.js';
import { DEFAULT_SCRYPT_LOG_N, type ScryptParams } from '../crypto/kdf.js';
import { CofferError } from '../errors.js';
import { writeSecretFile } from '../files.js';

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

/** Reads a key file, refusing one that group or others can read. */
export function readKeyFile(path: string): Uint8Array {
  let mode: number;
  try {
    mode = statSync(path).mode;
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
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new CofferError(
      'KEY_FILE_INSECURE',
      `the key file ${path} can be read by other users (mode ${(mode & 0o777).toString(8)})`,
      { hint: `Run: chmod 600 ${path}` },
    );
  }
  return parseMasterKey(readFileSync(path, 'utf8'), `the key file ${path}`);
}

/** Creates a new random master key and writes it to a key file (0600). */
export function createKeyFile(path: string): Uint8Array {
  const key = new Uint8Array(randomBytes(KEY_BYTES));
  writeSecretFile(path, `${Buffer.from(key).toString('base64')}\n`);
  return key;
}

/** Fresh scrypt parameters with a random salt. */
export function newScryptParams(logN: number = DEFAULT_SCRYPT_LOG_N): ScryptParams {
  return { logN, r: 8, p: 1, salt: randomBytes(16).toString('base64') };
}
