/**
 * Backup encryption with age (https://age-encryption.org/v1), through the `age-encryption`
 * library (the reference TypeScript implementation, by age's author), so that `age -d` opens a
 * coffer backup as well as coffer does. To a passphrase (scrypt, work factor 2^18 unless
 * asked otherwise, never below 2^14) or to one or more recipients (`age1...`, X25519 or the
 * post-quantum hybrid); never both, as age itself refuses.
 *
 * age authenticates the whole file: a changed byte or a cut end fails to decrypt. Which byte
 * failed is never said (one opaque failure). A passphrase or identity that opens none of the
 * file's stanzas is reported as WRONG_KEY; anything else as BACKUP_INVALID.
 *
 * The library is ESM only and is loaded on first use, so commands that do not touch backups
 * never load it. With require() first: the bundled CLI runs in a vm.Script, where import() of a
 * package is not available, and Node 20.19+ requires an ES module (as the library's own
 * dependencies need); import() where require() cannot (an older Node loading coffer's ESM
 * library build).
 */
import { createRequire } from 'node:module';
import { CofferError } from '../errors.js';

/** The part of `age-encryption` used here (its own types are not imported: see STYLE.md). */
interface AgeModule {
  Encrypter: new () => {
    setPassphrase(s: string): void;
    setScryptWorkFactor(logN: number): void;
    addRecipient(s: string): void;
    encrypt(file: Uint8Array): Promise<Uint8Array>;
  };
  Decrypter: new () => {
    addPassphrase(s: string): void;
    addIdentity(s: string): void;
    decrypt(file: Uint8Array): Promise<Uint8Array>;
  };
}

export const DEFAULT_BACKUP_WORK_FACTOR = 18;
export const MIN_BACKUP_WORK_FACTOR = 14;
export const MAX_BACKUP_WORK_FACTOR = 22;

export type BackupEncryption =
  | { passphrase: string; workFactor?: number | undefined }
  | { recipients: readonly string[] };

export interface BackupDecryption {
  passphrase?: string | undefined;
  identities?: readonly string[] | undefined;
}

let loaded: AgeModule | undefined;

async function loadAge(): Promise<AgeModule> {
  if (loaded !== undefined) return loaded;
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)('age-encryption');
  } catch (err) {
    try {
      mod = await import('age-encryption');
    } catch {
      throw new CofferError(
        'DEPENDENCY_MISSING',
        'backups need the age-encryption package, which did not load',
        {
          cause: err,
          hint: 'Use Node 20.19 or later, and reinstall coffer if the package is missing (it is one of its dependencies).',
        },
      );
    }
  }
  loaded = mod as AgeModule;
  return loaded;
}

/** Checks a work factor (log2 of scrypt's N) for a new passphrase backup. */
export function checkWorkFactor(logN: number): number {
  if (!Number.isInteger(logN) || logN < MIN_BACKUP_WORK_FACTOR || logN > MAX_BACKUP_WORK_FACTOR) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `the work factor must be a whole number from ${MIN_BACKUP_WORK_FACTOR} to ${MAX_BACKUP_WORK_FACTOR}`,
      { hint: `Leave it out for the default, ${DEFAULT_BACKUP_WORK_FACTOR}.` },
    );
  }
  return logN;
}

/** Encrypts a backup's plaintext to a passphrase or to recipients. */
export async function encryptBackup(plain: Uint8Array, to: BackupEncryption): Promise<Uint8Array> {
  const age = await loadAge();
  const e = new age.Encrypter();
  if ('passphrase' in to) {
    if (to.passphrase === '') {
      throw new CofferError('INVALID_ARGUMENT', 'the backup passphrase is empty');
    }
    e.setPassphrase(to.passphrase);
    e.setScryptWorkFactor(checkWorkFactor(to.workFactor ?? DEFAULT_BACKUP_WORK_FACTOR));
  } else {
    if (to.recipients.length === 0) {
      throw new CofferError('USAGE', 'a backup needs a passphrase or at least one recipient');
    }
    for (const r of to.recipients) {
      try {
        e.addRecipient(r);
      } catch (err) {
        throw new CofferError(
          'INVALID_ARGUMENT',
          `${r.slice(0, 100)} is not an age recipient (age1...)`,
          { cause: err, hint: 'Make one with `age-keygen` and pass its public key (age1...).' },
        );
      }
    }
  }
  return e.encrypt(plain);
}

/** The stanza types of an age file's header (`scrypt`, `X25519`, ...), or undefined. */
export function ageStanzaTypes(file: Uint8Array): string[] | undefined {
  const head = Buffer.from(file.buffer, file.byteOffset, Math.min(file.length, 64 * 1024)).toString(
    'latin1',
  );
  if (!head.startsWith('age-encryption.org/v1\n')) return undefined;
  const types: string[] = [];
  for (const line of head.split('\n').slice(1)) {
    if (line.startsWith('---')) break;
    if (line.startsWith('-> ')) types.push(line.slice(3).split(' ')[0] ?? '');
  }
  return types;
}

/** Decrypts a backup file; WRONG_KEY when nothing given opens it, else BACKUP_INVALID. */
export async function decryptBackup(file: Uint8Array, keys: BackupDecryption): Promise<Uint8Array> {
  const types = ageStanzaTypes(file);
  if (types === undefined) {
    throw new CofferError('BACKUP_INVALID', 'this file is not an age-encrypted coffer backup');
  }
  const age = await loadAge();
  const d = new age.Decrypter();
  if (keys.passphrase !== undefined) d.addPassphrase(keys.passphrase);
  for (const id of keys.identities ?? []) {
    try {
      d.addIdentity(id);
    } catch (err) {
      throw new CofferError(
        'INVALID_ARGUMENT',
        'the identity file holds a malformed age identity',
        {
          cause: err,
        },
      );
    }
  }
  try {
    return await d.decrypt(file);
  } catch (err) {
    const message = err instanceof Error ? err.message : '';
    if (message.includes('no identity matched')) {
      const passphraseFile = types.includes('scrypt');
      throw new CofferError(
        'WRONG_KEY',
        passphraseFile
          ? 'the passphrase does not open this backup (or its header is damaged)'
          : 'none of the identities given opens this backup (or its header is damaged)',
        {
          cause: err,
          hint: passphraseFile
            ? 'Give the passphrase the backup was made with (COFFER_BACKUP_PASSPHRASE, or on the terminal).'
            : 'Pass the age identity file of one of its recipients with --identity FILE.',
        },
      );
    }
    throw new CofferError(
      'BACKUP_INVALID',
      'the backup is damaged or truncated: it failed its authentication check',
      { cause: err, hint: 'Use another copy of the backup; this one cannot be trusted.' },
    );
  }
}
