/**
 * age identity files (`coffer backup verify|restore --identity FILE`), read as age reads them
 * (https://age-encryption.org/v1, the `-i` files of `age-keygen`): one identity per line
 * (`AGE-SECRET-KEY-1...`), blank lines and `#` comments skipped. Each file is read under
 * READ_LIMITS.ageIdentity, so `--identity /dev/zero`, an endless pipe or a huge file is refused
 * by name instead of filling memory. Whether a line is a well-formed identity is for the
 * decrypter to say (age.ts); no message here quotes a line, which holds a secret key.
 */
import { CofferError } from '../errors.js';
import { READ_LIMITS, readFileLimited } from '../read-limited.js';

/** Why `file` could not be read, naming it as an identity file (the system error's code). */
function identityReadError(file: string, err: CofferError): CofferError {
  const code = (err.cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined) return err;
  return new CofferError(
    code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'IO_ERROR',
    `cannot read the identity file ${file} (${code})`,
    { cause: err.cause },
  );
}

/** The identities in the age identity files `files`, in order. */
export function readAgeIdentities(files: readonly string[]): string[] {
  const ids: string[] = [];
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = readFileLimited(file, READ_LIMITS.ageIdentity, 'an age identity file');
    } catch (err) {
      throw err instanceof CofferError ? identityReadError(file, err) : err;
    }
    const text = bytes.toString('utf8');
    bytes.fill(0);
    for (const line of text.split(/\r?\n/)) {
      const t = line.trim();
      if (t !== '' && !t.startsWith('#')) ids.push(t);
    }
  }
  return ids;
}
