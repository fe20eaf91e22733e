/**
 * `coffer init`: creates the vault (the file, or with COFFER_DATABASE_URL the PostgreSQL
 * schema and its tables) and its master key source.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { KEY_BYTES } from '../../core/crypto/aead.js';
import {
  DEFAULT_SCRYPT_LOG_N,
  deriveKeyFromPassphrase,
  MIN_NEW_SCRYPT_LOG_N,
} from '../../core/crypto/kdf.js';
import { CofferError } from '../../core/errors.js';
import { withFileLock } from '../../core/files.js';
import { gitIgnoreWarning } from '../../core/git.js';
import {
  type CreatedKeyFile,
  newScryptParams,
  parseMasterKey,
  readKeyFile,
  removeCreatedKeyFile,
  writeNewKeyFile,
} from '../../core/keys/master-key.js';
import { initVault, type KeySource, readVaultInfo } from '../../core/store/init.js';
import type { Storage } from '../../core/store/storage.js';
import { createVaultFile } from '../../storage/sqlite/new-vault-file.js';
import { storeFileKind } from '../../storage/sqlite/sqlite-driver.js';
import { action, type CommonOptions, intOption } from '../action.js';
import { assertLocalMode } from '../backend.js';
import {
  cliActor,
  databaseUrl,
  type GlobalOptions,
  keyFilePath,
  openStore,
  readPassphrase,
  vaultPath,
} from '../context.js';
import { stdinIsTerminal } from '../input.js';
import { note, printJson, warn } from '../output.js';

interface InitOptions extends CommonOptions {
  passphrase?: boolean;
  kdfLogN?: number;
}

export function initCommand(program: Command): void {
  program
    .command('init')
    .description('create a vault (in COFFER_HOME, default ~/.coffer)')
    .option('--passphrase', 'protect the vault with a passphrase (scrypt) instead of a key file')
    .addOption(
      program
        .createOption(
          '--kdf-log-n <n>',
          `scrypt cost as log2(N) for --passphrase (default ${DEFAULT_SCRYPT_LOG_N}, at least ${MIN_NEW_SCRYPT_LOG_N})`,
        )
        .argParser(intOption('--kdf-log-n', MIN_NEW_SCRYPT_LOG_N))
        .hideHelp(),
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The master key comes from (first match): COFFER_MASTER_KEY (base64 of 32 bytes), a key file
(created here at $COFFER_HOME/master.key with mode 0600, or --key-file PATH), or a
passphrase (--passphrase; COFFER_PASSPHRASE, --passphrase-stdin or a hidden prompt).

With COFFER_DATABASE_URL=postgres://USER:PASSWORD@HOST/DB?schema=coffer the vault is created
in that PostgreSQL schema instead of a file (the optional package pg must be installed);
every other command and \`coffer serve\` then use it too.

Examples:
  coffer init
  COFFER_HOME=./.coffer coffer init --json
  COFFER_DATABASE_URL=postgres://coffer@db.internal/coffer coffer init
  coffer init --passphrase`,
    )
    .action(
      action<InitOptions>(async (_args, opts, g) => {
        assertLocalMode('coffer init');
        if (opts.kdfLogN !== undefined && !opts.passphrase) {
          throw new CofferError('USAGE', '--kdf-log-n applies to --passphrase only');
        }
        const file = databaseUrl() === undefined ? vaultPath(g) : undefined;
        // A file an interrupted init left empty (Ctrl-C during the key derivation) is no vault:
        // init goes on into it, as every other command already says to.
        const kind = file !== undefined && existsSync(file) ? storeFileKind(file) : 'unused';
        if (kind === 'other' || kind === 'unknown') {
          throw new CofferError(
            'ALREADY_EXISTS',
            kind === 'other'
              ? `${file} exists and is not a coffer vault; nothing was changed`
              : `${file} exists and is not empty; nothing was changed`,
            { hint: 'Choose another location with --vault or COFFER_HOME.' },
          );
        }
        if (kind === 'coffer' && file !== undefined) {
          throw new CofferError('ALREADY_EXISTS', `a vault already exists at ${file}`, {
            hint: await existingVaultHint(
              g,
              undefined,
              file,
              'choose another location with --vault or COFFER_HOME',
            ),
          });
        }
        // A file vault is built aside and published whole (new-vault-file.ts); a database
        // is made in place, its schema check being the guard.
        const storage = file === undefined ? await openStore(g, { create: true }) : undefined;
        let masterKey: Uint8Array | undefined;
        let keySource: KeySource = 'key';
        let kdf: ReturnType<typeof newScryptParams> | undefined;
        let keyFile: string | undefined;
        let keyFileCreated: CreatedKeyFile | undefined;
        let created = false;
        try {
          // A database outlives a failed or repeated init: refuse before making a key file.
          if (storage !== undefined && (await hasVault(storage))) {
            throw new CofferError(
              'ALREADY_EXISTS',
              `a vault already exists at ${storage.location}`,
              {
                hint: await existingVaultHint(
                  g,
                  storage,
                  storage.location,
                  'choose another schema with ?schema= in COFFER_DATABASE_URL',
                ),
              },
            );
          }
          if (opts.passphrase) {
            keySource = 'passphrase';
            kdf = newScryptParams(opts.kdfLogN); // checks the cost before asking
            const pass = await readPassphrase(g, 'New vault passphrase: ');
            if (
              process.env.COFFER_PASSPHRASE === undefined &&
              !g.passphraseStdin &&
              stdinIsTerminal()
            ) {
              const again = await readPassphrase(g, 'Repeat the passphrase: ');
              if (again !== pass) throw new CofferError('USAGE', 'the passphrases do not match');
            }
            if (pass.length < 8) {
              throw new CofferError(
                'INVALID_ARGUMENT',
                'the passphrase must be at least 8 characters',
              );
            }
            masterKey = deriveKeyFromPassphrase(pass, kdf);
          } else if (process.env.COFFER_MASTER_KEY) {
            masterKey = parseMasterKey(process.env.COFFER_MASTER_KEY, 'COFFER_MASTER_KEY');
          } else {
            keyFile = keyFilePath(g);
            let fresh: Uint8Array | undefined;
            if (!existsSync(keyFile)) {
              fresh = new Uint8Array(randomBytes(KEY_BYTES));
              keyFileCreated = writeNewKeyFile(keyFile, fresh);
              if (keyFileCreated === undefined) {
                fresh.fill(0);
                fresh = undefined;
              }
            }
            // There already, or made by another init just now: the vault is made for it.
            masterKey = fresh ?? readKeyFile(keyFile);
          }
          const key = masterKey;
          const make = (s: Storage) =>
            initVault(s, { masterKey: key, keySource, kdf, actor: cliActor() });
          const { kekId } =
            file === undefined
              ? await make(storage!)
              : await createVaultFile(file, make, {
                  beforePublish: () => keyFile !== undefined && checkKeyFile(keyFile, key),
                });
          created = true;
          const location = file ?? storage!.location;
          if (opts.json) {
            printJson({
              vault: location,
              storage: storage?.kind ?? 'sqlite',
              keySource,
              keyFile: keyFile ?? null,
              keyFileCreated: keyFileCreated !== undefined,
              kekId,
            });
          } else {
            note(`created vault ${location}`);
            if (keyFile !== undefined) {
              note(
                `${keyFileCreated ? 'created' : 'using existing'} key file ${keyFile} (mode 0600)`,
              );
              warn('back up the key file somewhere safe: without it the vault cannot be opened');
            }
          }
          // Inside a git work tree (COFFER_HOME=./.coffer): the key next to the vault must
          // never be committed with it.
          for (const f of [keyFile, file]) {
            const w = f === undefined ? undefined : gitIgnoreWarning(f);
            if (w !== undefined) warn(w);
          }
        } finally {
          masterKey?.fill(0);
          await storage?.close();
          // A key file made for a vault that was not created locks nothing: remove it, unless
          // another init published a vault meanwhile (made for this very key file, which it
          // found there).
          if (!created && keyFileCreated !== undefined) {
            const made = keyFileCreated;
            if (file === undefined) removeCreatedKeyFile(made);
            else withFileLock(file, () => !existsSync(file) && removeCreatedKeyFile(made));
          }
        }
        return 0;
      }),
    );
}

/**
 * What to do about a vault that exists. When it is opened with a key file and that file is
 * missing (the user ran `init` because a command said so), say where the key must come from:
 * a new key would not open it.
 */
async function existingVaultHint(
  g: GlobalOptions,
  storage: Storage | undefined,
  location: string,
  elsewhere: string,
): Promise<string> {
  const usual = `Use it as it is, or ${elsewhere}.`;
  const keyFile = keyFilePath(g);
  if (process.env.COFFER_MASTER_KEY || existsSync(keyFile)) return usual;
  let own: Storage | undefined;
  try {
    own = storage === undefined ? await openStore(g) : undefined;
    const info = await readVaultInfo((storage ?? own)!);
    if (info.keySource === 'passphrase') return usual;
  } catch {
    return usual;
  } finally {
    await own?.close();
  }
  return (
    `Its key file ${keyFile} is missing, and a new key cannot open it: restore the key file ` +
    'from your backup, pass --key-file PATH, or set COFFER_MASTER_KEY to the key (base64). ' +
    `Only to start over with an empty vault: move ${location} away (or ${elsewhere}).`
  );
}

/** Whether the store already holds an initialised vault. */
async function hasVault(storage: Storage): Promise<boolean> {
  return storage.transaction('read', async (tx) => (await tx.getMeta('format')) !== undefined);
}

/**
 * Checked just before a vault made for a key file is published: the key file still holds the
 * vault's key (another init that made it and then failed may have removed it; it is made
 * again then).
 */
function checkKeyFile(keyFile: string, key: Uint8Array): void {
  if (!existsSync(keyFile)) {
    if (writeNewKeyFile(keyFile, key) !== undefined) return;
  }
  const there = readKeyFile(keyFile);
  const same = timingSafeEqual(there, key);
  there.fill(0);
  if (!same) {
    throw new CofferError(
      'ALREADY_EXISTS',
      `the key file ${keyFile} was replaced while this init ran; no vault was created`,
      { hint: 'Another coffer init or restore is running: use the vault it makes.' },
    );
  }
}
