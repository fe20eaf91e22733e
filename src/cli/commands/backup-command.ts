/**
 * `coffer backup`, `coffer backup verify FILE`, `coffer backup restore FILE`: the whole vault in
 * one age-encrypted file (core/backup). Passphrases come from COFFER_BACKUP_PASSPHRASE, a line
 * of stdin, or a hidden prompt; never from argv.
 */
import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ageStanzaTypes, type BackupEncryption, decryptBackup } from '../../core/backup/age.js';
import {
  type BackupCheck,
  checkSnapshot,
  createBackup,
  describeBackup,
  recordBackup,
  restoreSnapshot,
  type TokenBeyondCaps,
} from '../../core/backup/backup.js';
import { decodeSnapshot, type Snapshot } from '../../core/backup/format.js';
import { readAgeIdentities } from '../../core/backup/identities.js';
import { backupFileName } from '../../core/backup/scheduled.js';
import { parseStoredKdf, type ScryptParams } from '../../core/crypto/kdf.js';
import { CofferError } from '../../core/errors.js';
import { fileExistsError, withFileLock, writeSecretFile } from '../../core/files.js';
import {
  type CreatedKeyFile,
  parseMasterKey,
  readKeyFile,
  removeCreatedKeyFile,
  writeNewKeyFile,
} from '../../core/keys/master-key.js';
import { READ_LIMITS, readFileLimited } from '../../core/read-limited.js';
import type { KeySource } from '../../core/store/init.js';
import type { Storage } from '../../core/store/storage.js';
import { Vault } from '../../core/store/vault.js';
import { escapeControls } from '../../core/terminal-text.js';
import { createVaultFile } from '../../storage/sqlite/new-vault-file.js';
import { storeFileKind } from '../../storage/sqlite/sqlite-driver.js';
import { openMemoryStorage } from '../../storage/sqlite/sqlite-storage.js';
import { action, type CommonOptions, intOption } from '../action.js';
import { assertLocalMode } from '../backend.js';
import {
  cliActor,
  databaseUrl,
  type GlobalOptions,
  keyFilePath,
  openStore,
  readMasterKey,
  vaultPath,
} from '../context.js';
import { promptHidden, readStdinLine, stdinIsTerminal } from '../input.js';
import { note, printJson, rawStdout, refuseJsonWithStdout, warn, writeOut } from '../output.js';

interface BackupOptions extends CommonOptions {
  out?: string;
  passphrase?: boolean;
  recipient?: string[];
  includeMasterKey?: boolean;
  workFactor?: number;
  force?: boolean;
}

interface OpenOptions extends CommonOptions {
  identity?: string[];
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** The backup passphrase: COFFER_BACKUP_PASSPHRASE, else a line of stdin, else a prompt. */
async function backupPassphrase(confirm: boolean): Promise<string> {
  const env = process.env.COFFER_BACKUP_PASSPHRASE;
  if (env !== undefined && env !== '') return env;
  if (!stdinIsTerminal()) {
    const line = await readStdinLine('backup passphrase');
    if (line === '') {
      throw new CofferError('USAGE', 'no backup passphrase: stdin was empty', {
        hint: 'Set COFFER_BACKUP_PASSPHRASE, pipe the passphrase on stdin, or run on a terminal to be asked.',
      });
    }
    return line;
  }
  const first = await promptHidden('Backup passphrase: ');
  if (first === '') throw new CofferError('USAGE', 'the backup passphrase is empty');
  if (confirm && (await promptHidden('Backup passphrase again: ')) !== first) {
    throw new CofferError('USAGE', 'the two passphrases differ; nothing was written');
  }
  return first;
}

/** Reads, decrypts and decodes a backup file (asking for what opens it). */
export async function openBackupFile(
  file: string,
  identityFiles: readonly string[],
): Promise<Snapshot> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileLimited(file, READ_LIMITS.backup, 'a backup'));
  } catch (err) {
    if ((err as CofferError).code === 'FILE_NOT_FOUND') {
      throw new CofferError('FILE_NOT_FOUND', `no backup file ${file}`);
    }
    throw err;
  }
  const types = ageStanzaTypes(bytes);
  if (types === undefined) {
    throw new CofferError('BACKUP_INVALID', `${file} is not an age-encrypted coffer backup`);
  }
  const identities = readAgeIdentities(identityFiles);
  const passphraseFile = types.includes('scrypt');
  if (!passphraseFile && identities.length === 0) {
    throw new CofferError('USAGE', `${file} is encrypted to age recipients, not to a passphrase`, {
      hint: 'Pass the identity file of one of its recipients with --identity FILE.',
    });
  }
  const plain = await decryptBackup(bytes, {
    passphrase: passphraseFile ? await backupPassphrase(false) : undefined,
    identities,
  });
  try {
    return decodeSnapshot(plain);
  } finally {
    plain.fill(0);
  }
}

/** What a snapshot's meta says about its master key (key file or passphrase). */
function keyInfo(s: Snapshot): { keySource: KeySource; kdf: ScryptParams | undefined } {
  const meta = new Map(s.meta.map((m) => [m.key, m.value]));
  const kdf = meta.get('kdf');
  let parsed: ScryptParams | undefined;
  try {
    parsed = kdf === undefined ? undefined : parseStoredKdf(kdf);
  } catch {
    throw new CofferError(
      'BACKUP_INVALID',
      "the backup's passphrase settings are malformed or out of range",
    );
  }
  return { keySource: (meta.get('key_source') ?? 'key') as KeySource, kdf: parsed };
}

/** The master key of a backed-up vault: the backup's own, else the usual sources. */
async function snapshotMasterKey(g: GlobalOptions, s: Snapshot): Promise<Uint8Array> {
  if (s.masterKey !== undefined) return new Uint8Array(s.masterKey);
  return readMasterKey(g, undefined, keyInfo(s));
}

/** What to do about a token whose path globs are beyond the caps, once it is revoked. */
const REPLACE_TOKEN =
  'give whoever used it a new token with at most 64 globs of at most three segments besides ** each (e.g. `coffer token create --name NAME --allow "project/app/*"`)';

/** One line naming a token whose path globs are beyond the caps, and why. */
function tokenLine(t: TokenBeyondCaps): string {
  return `the token ${JSON.stringify(t.name)} has path globs beyond what a token may hold now (${t.reason})`;
}

function printCheck(check: BackupCheck, file: string): void {
  const h = check.header;
  // The header and the backed-up records are the backup file's text: shown escaped.
  writeOut(
    [
      `backup ${file}`,
      `  taken     ${h.createdAt} from ${h.source.kind} ${h.source.location}`,
      `  contents  ${describeBackup(h)}`,
      `  values    ${check.checked} versions opened`,
      `  audit     ${check.audit.ok ? `${check.audit.records} records, chain verifies` : `BROKEN: ${check.audit.problem}`}`,
      ...check.failures.slice(0, 20).map((f) => `  FAILED    ${f}`),
      ...check.tokensBeyondCaps.map(
        (t) =>
          `  WARNING   ${tokenLine(t)}: ${t.revokedBefore ? 'it is revoked and stays so' : 'a restore brings it back revoked'}`,
      ),
      check.ok ? 'ok' : 'FAILED',
      '',
    ]
      .map(escapeControls)
      .join('\n'),
  );
}

async function runBackup(opts: BackupOptions, g: GlobalOptions): Promise<number> {
  assertLocalMode('coffer backup');
  const recipients = opts.recipient ?? [];
  if (opts.passphrase && recipients.length > 0) {
    throw new CofferError('USAGE', '--passphrase and --recipient cannot be combined', {
      hint: 'age encrypts a file to a passphrase or to recipients, not both.',
    });
  }
  if (recipients.length > 0 && opts.workFactor !== undefined) {
    throw new CofferError('USAGE', '--work-factor applies to a passphrase backup only');
  }
  const now = new Date();
  const out = opts.out ?? backupFileName(now);
  const toStdout = out === '-';
  refuseJsonWithStdout(opts.json, toStdout && '--out');
  const target = toStdout ? '-' : resolve(out);
  if (!toStdout && existsSync(target) && !opts.force) throw fileExistsError(target, '--out');
  const storage = await openStore(g);
  try {
    const masterKey = await readMasterKey(g, storage);
    const vault = new Vault(storage, masterKey, { actor: cliActor() });
    try {
      const encryption: BackupEncryption =
        recipients.length > 0
          ? { recipients }
          : { passphrase: await backupPassphrase(true), workFactor: opts.workFactor };
      const backup = await createBackup(vault, {
        encryption,
        masterKey: opts.includeMasterKey ? masterKey : undefined,
        now: () => now,
      });
      if (toStdout) rawStdout().write(backup.file);
      else
        writeSecretFile(target, backup.file, {
          overwrite: opts.force === true,
        });
      await recordBackup(vault, backup.header, toStdout ? 'stdout' : target);
      if (opts.json) {
        printJson({
          file: target,
          bytes: backup.file.length,
          ...backup.header,
          tokensBeyondCaps: backup.tokensBeyondCaps,
        });
      } else {
        note(`backup written to ${toStdout ? 'stdout' : target}: ${describeBackup(backup.header)}`);
        if (opts.includeMasterKey) {
          note('it holds the master key: whoever opens it can read every secret');
        }
      }
      for (const t of backup.tokensBeyondCaps) {
        warn(
          t.revokedBefore
            ? `${tokenLine(t)}: it is revoked, and a restore of this backup keeps it so`
            : `${tokenLine(t)}: a restore of this backup brings it back revoked; ${REPLACE_TOKEN}, then revoke this one (\`coffer token revoke ${t.name}\`)`,
        );
      }
      return 0;
    } finally {
      vault.close();
      masterKey.fill(0);
    }
  } finally {
    await storage.close();
  }
}

async function runVerify(file: string, opts: OpenOptions, g: GlobalOptions): Promise<number> {
  const snapshot = await openBackupFile(file, opts.identity ?? []);
  const masterKey = await snapshotMasterKey(g, snapshot);
  const scratch = openMemoryStorage();
  try {
    const check = await checkSnapshot(snapshot, masterKey, scratch);
    if (opts.json) printJson({ file, ...check });
    else printCheck(check, file);
    return check.ok ? 0 : 4;
  } finally {
    masterKey.fill(0);
    await scratch.close();
  }
}

/** `coffer backup restore FILE` (and `coffer restore FILE`). */
export async function runRestore(
  file: string,
  opts: OpenOptions,
  g: GlobalOptions,
): Promise<number> {
  assertLocalMode('coffer backup restore');
  const snapshot = await openBackupFile(file, opts.identity ?? []);
  const masterKey = await snapshotMasterKey(g, snapshot);
  const toFile = databaseUrl() === undefined;
  const keyFile = keyFilePath(g);
  // A backup with its master key restores a key-file vault with that key file too, unless
  // the key comes from COFFER_MASTER_KEY or a key file that already holds it.
  let writeKey = false;
  if (snapshot.masterKey !== undefined && process.env.COFFER_MASTER_KEY) {
    // The key given here must be the backed-up vault's: a backup encrypted to a public key
    // can be made by anyone who knows that key, with a master key and values of their own.
    const given = parseMasterKey(process.env.COFFER_MASTER_KEY, 'COFFER_MASTER_KEY');
    const same = timingSafeEqual(given, masterKey);
    given.fill(0);
    if (!same) {
      masterKey.fill(0);
      throw new CofferError(
        'ALREADY_EXISTS',
        'COFFER_MASTER_KEY holds another key than the one in the backup; nothing was restored',
        {
          hint: 'Unset COFFER_MASTER_KEY to restore the backed-up vault with its own key, after making sure the file is your backup.',
        },
      );
    }
  }
  if (snapshot.masterKey !== undefined && !process.env.COFFER_MASTER_KEY) {
    if (keyInfo(snapshot).keySource === 'key') {
      if (existsSync(keyFile)) checkSameKey(keyFile, masterKey);
      else writeKey = true;
    }
  }
  if (toFile && existsSync(vaultPath(g)) && storeFileKind(vaultPath(g)) !== 'unused') {
    // Opening it would apply migrations to someone else's file: refuse before touching it.
    // An empty file, or coffer's tables with nothing in them (a restore or an init that was
    // killed: the restore is one transaction), is an empty store.
    throw new CofferError(
      'ALREADY_EXISTS',
      `${vaultPath(g)} already exists; a backup is restored into an empty store only`,
      { hint: 'Restore into a new vault file with --vault PATH.' },
    );
  }
  // The key file comes first, then the vault: a restore killed at any point is finished by
  // running it again (a key file holding the backup's key is used as it is, and the vault
  // appears whole or not at all, new-vault-file.ts). A key file this run made is removed when
  // the restore fails, unless another restore published a vault for it meanwhile.
  let keyMade: CreatedKeyFile | undefined;
  if (writeKey) {
    keyMade = writeNewKeyFile(keyFile, masterKey);
    if (keyMade === undefined) checkSameKey(keyFile, masterKey);
  }
  try {
    const restore = (target: Storage, where: string) =>
      restoreSnapshot(snapshot, masterKey, target, { actor: cliActor(), target: where });
    let where: string;
    let r: Awaited<ReturnType<typeof restore>>;
    if (toFile) {
      where = vaultPath(g);
      r = await createVaultFile(where, (target) => restore(target, where), {
        beforePublish: () => writeKey && ensureKeyFile(keyFile, masterKey),
      });
    } else {
      const target = await openStore(g, { create: true });
      try {
        where = target.location;
        r = await restore(target, where);
      } finally {
        await target.close();
      }
    }
    if (opts.json) {
      printJson({ file, target: where, keyFile: keyMade ? keyFile : null, ...r });
    } else {
      note(`restored ${describeBackup(r.header)} into ${where}; the audit chain verifies`);
      if (keyMade) note(`wrote the master key to ${keyFile} (mode 0600)`);
      for (const t of r.tokensRevoked) {
        if (t.revokedBefore) note(`${tokenLine(t)}; it was revoked already and stays so`);
        else warn(`${tokenLine(t)}, so it was restored revoked: ${REPLACE_TOKEN}`);
      }
    }
    return 0;
  } catch (err) {
    const made = keyMade;
    if (made !== undefined) {
      const path = vaultPath(g);
      if (toFile) withFileLock(path, () => !existsSync(path) && removeCreatedKeyFile(made));
      else removeCreatedKeyFile(made);
    }
    throw err;
  } finally {
    masterKey.fill(0);
  }
}

/** Refuses a key file that holds another key than the backed-up vault's. */
function checkSameKey(keyFile: string, masterKey: Uint8Array): void {
  const existing = readKeyFile(keyFile);
  const same = timingSafeEqual(existing, masterKey);
  existing.fill(0);
  if (!same) {
    throw new CofferError(
      'ALREADY_EXISTS',
      `the key file ${keyFile} holds another key than the backed-up vault's; nothing was restored`,
      { hint: 'Point --key-file at a new path, or move the existing key file away first.' },
    );
  }
}

/** Just before the vault is published: its key file is there (made again if removed meanwhile). */
function ensureKeyFile(keyFile: string, masterKey: Uint8Array): void {
  if (existsSync(keyFile) || writeNewKeyFile(keyFile, masterKey) === undefined) {
    checkSameKey(keyFile, masterKey);
  }
}

export function backupCommand(program: Command): void {
  const backup = program
    .command('backup')
    .description('write the whole vault to one encrypted file (age), or verify and restore one')
    .option(
      '-o, --out <file>',
      'the backup file (default: coffer-backup-<time>.age here; - for stdout)',
    )
    .option(
      '--passphrase',
      'encrypt to a passphrase (the default): COFFER_BACKUP_PASSPHRASE, stdin or prompt',
    )
    .option('--recipient <age1...>', 'encrypt to an age recipient (repeatable)', collect)
    .option(
      '--include-master-key',
      'put the master key in the backup: a self-contained recovery kit',
    )
    .option(
      '--work-factor <n>',
      'scrypt cost of a passphrase backup, log2 (14-22, default 18)',
      intOption('--work-factor', 1),
    )
    .option('--force', 'replace an existing backup file')
    .option('--json', 'print {file, bytes, counts, auditHead, ...} as JSON')
    .addHelpText(
      'after',
      `
One consistent snapshot of every secret (all versions, deleted ones too), their metadata, the
keyring, the API tokens and the audit chain, taken while the vault keeps serving, encrypted
with age: \`age -d FILE\` opens it too. The passphrase never comes from argv. A token whose
path globs a new token could not have (an earlier coffer made such tokens) is named with a
warning: a restore of the backup brings it back revoked.

Examples:
  coffer backup --out vault.age                       # asks for a passphrase twice
  COFFER_BACKUP_PASSPHRASE=... coffer backup -o vault.age --include-master-key
  coffer backup -o vault.age --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
  coffer backup verify vault.age
  coffer backup restore vault.age --vault /srv/coffer/vault.db`,
    )
    .action(action<BackupOptions>(async (_args, opts, g) => runBackup(opts, g)));

  backup
    .command('verify')
    .description('decrypt a backup and check everything in it, writing nothing')
    .argument('<file>', 'the backup file')
    .option(
      '-i, --identity <file>',
      'age identity file, for a backup made with --recipient',
      collect,
    )
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Opens every secret version with the vault's master key (the backup's own with
--include-master-key, else COFFER_MASTER_KEY, the key file or the passphrase), checks every
row MAC, key and the audit chain, and that the counts match the header. Exit 4 if anything
fails. A token whose path globs a new token could not have (more than 64, or past the
length and segment limits; an earlier coffer made such tokens) is a WARNING line, not a
failure: a restore brings it back revoked.

Example:
  coffer backup verify vault.age`,
    )
    .action(action<OpenOptions>(async ([file], opts, g) => runVerify(file!, opts, g)));

  backup
    .command('restore')
    .description('restore a backup into an empty vault file or database')
    .argument('<file>', 'the backup file')
    .option(
      '-i, --identity <file>',
      'age identity file, for a backup made with --recipient',
      collect,
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The target is the vault of --vault PATH (or $COFFER_HOME/vault.db), or the PostgreSQL
database of COFFER_DATABASE_URL, and must be empty. The backup is verified first; the restore
is recorded in the restored audit chain. A backup with its master key also writes the key
file (when the vault used one and none exists). A token whose path globs a new token could
not have (an earlier coffer made such tokens) is restored revoked, and named with what to do:
give its holder a new token within the limits.

Examples:
  coffer --vault /srv/coffer/vault.db backup restore vault.age
  COFFER_DATABASE_URL=postgres://coffer@db/coffer coffer backup restore vault.age`,
    )
    .action(action<OpenOptions>(async ([file], opts, g) => runRestore(file!, opts, g)));
}
