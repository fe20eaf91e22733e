/**
 * Backup encryption with age (https://age-encryption.org/v1), through the `age-encryption`
 * library (the reference TypeScript implementation, by age's author), so that `age -d` opens a
 * coffer backup as well as coffer does. The library makes and checks the header (stanzas and
 * MAC); the passphrase's scrypt and the payload's ChaCha20-Poly1305 run on node:crypto
 * (age-native.ts), which is several times faster than the library's JavaScript. To a passphrase (scrypt, work factor 2^18 unless
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
import {
  type AgeIdentity,
  type AgeRecipient,
  type AgeStanza,
  headerLength,
  MAX_READ_WORK_FACTOR,
  openPayload,
  PayloadSealer,
  type StanzaConstructor,
  scryptIdentity,
  scryptRecipient,
} from './age-native.js';

/** The part of `age-encryption` used here (its own types are not imported: see STYLE.md). */
interface AgeModule {
  Encrypter: new () => {
    addRecipient(s: string | AgeRecipient): void;
    encrypt(file: Uint8Array): Promise<Uint8Array>;
  };
  Decrypter: new () => {
    addIdentity(s: string | AgeIdentity): void;
    decryptHeader(header: Uint8Array): Promise<Uint8Array>;
  };
  Stanza: StanzaConstructor;
}

export const DEFAULT_BACKUP_WORK_FACTOR = 18;
export const MIN_BACKUP_WORK_FACTOR = 14;
export const MAX_BACKUP_WORK_FACTOR: number = MAX_READ_WORK_FACTOR;

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
  const sealer = await openBackupSealer(to);
  sealer.push(plain);
  return sealer.finish();
}

/** An age file being written: `push` plaintext in pieces, `finish` for the whole file. */
export interface BackupSealer {
  push(bytes: Uint8Array): void;
  finish(): Uint8Array;
}

/**
 * Starts an age file to a passphrase or to recipients (the passphrase's scrypt runs off the
 * event loop, so a caller can read the vault meanwhile). The library writes the header (it
 * encrypts an empty file to the stanzas, and hands the file key to a recipient of ours that
 * adds no stanza); the payload is sealed here under that file key with a fresh nonce, and
 * the library's empty payload is dropped.
 */
export async function openBackupSealer(to: BackupEncryption): Promise<BackupSealer> {
  const age = await loadAge();
  const e = new age.Encrypter();
  if ('passphrase' in to) {
    if (to.passphrase === '') {
      throw new CofferError('INVALID_ARGUMENT', 'the backup passphrase is empty');
    }
    const logN = checkWorkFactor(to.workFactor ?? DEFAULT_BACKUP_WORK_FACTOR);
    e.addRecipient(scryptRecipient(age.Stanza, to.passphrase, logN));
  } else {
    if (to.recipients.length === 0) {
      throw new CofferError('USAGE', 'a backup needs a passphrase or at least one recipient');
    }
    for (const r of to.recipients) {
      if (!r.startsWith('age1')) throw notRecipient(r);
      try {
        e.addRecipient(r);
      } catch (err) {
        throw notRecipient(r, err);
      }
    }
  }
  let fileKey: Uint8Array | undefined;
  e.addRecipient({
    wrapFileKey(key: Uint8Array): AgeStanza[] {
      fileKey = new Uint8Array(key);
      return [];
    },
  });
  let empty: Uint8Array;
  try {
    empty = await e.encrypt(new Uint8Array(0));
  } catch (err) {
    if ('passphrase' in to) throw err;
    // A recipient string is parsed when the file is encrypted.
    throw notRecipient(to.recipients.join(' '), err);
  }
  const end = headerLength(empty);
  if (fileKey === undefined || end === undefined || empty.length !== end + 32) {
    throw new CofferError('INTERNAL', 'the age library wrote an unexpected header');
  }
  try {
    return new PayloadSealer(empty.subarray(0, end), fileKey);
  } finally {
    fileKey.fill(0);
  }
}

function notRecipient(r: string, cause?: unknown): CofferError {
  return new CofferError(
    'INVALID_ARGUMENT',
    `${r.slice(0, 100)} is not an age recipient (age1...)`,
    {
      cause,
      hint: 'Make one with `age-keygen` and pass its public key (age1...).',
    },
  );
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
  if (keys.passphrase !== undefined) d.addIdentity(scryptIdentity(keys.passphrase));
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
  const damaged = (err: unknown) =>
    new CofferError(
      'BACKUP_INVALID',
      'the backup is damaged or truncated: it failed its authentication check',
      { cause: err, hint: 'Use another copy of the backup; this one cannot be trusted.' },
    );
  const end = headerLength(file);
  if (end === undefined) throw damaged(undefined);
  let fileKey: Uint8Array;
  try {
    fileKey = await d.decryptHeader(file.subarray(0, end));
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
    throw damaged(err);
  }
  try {
    return openPayload(fileKey, file.subarray(end));
  } catch (err) {
    throw damaged(err);
  } finally {
    fileKey.fill(0);
  }
}
