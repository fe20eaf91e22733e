/**
 * `coffer init`: creates the vault file and its master key source.
 */
import { existsSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { deriveKeyFromPassphrase } from '../../core/crypto/kdf.js';
import { CofferError } from '../../core/errors.js';
import {
  createKeyFile,
  newScryptParams,
  parseMasterKey,
  readKeyFile,
} from '../../core/keys/master-key.js';
import { initVault, type KeySource } from '../../core/store/init.js';
import { openSqliteStorage } from '../../storage/sqlite/sqlite-storage.js';
import { action, type CommonOptions, intOption } from '../action.js';
import { assertLocalMode } from '../backend.js';
import { cliActor, keyFilePath, readPassphrase, vaultPath } from '../context.js';
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
        .createOption('--kdf-log-n <n>', 'scrypt cost as log2(N) for --passphrase (default 17)')
        .argParser(intOption('--kdf-log-n', 10))
        .hideHelp(),
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The master key comes from (first match): COFFER_MASTER_KEY (base64 of 32 bytes), a key file
(created here at $COFFER_HOME/master.key with mode 0600, or --key-file PATH), or a
passphrase (--passphrase; COFFER_PASSPHRASE, --passphrase-stdin or a hidden prompt).

Examples:
  coffer init
  COFFER_HOME=./.coffer coffer init --json
  coffer init --passphrase`,
    )
    .action(
      action<InitOptions>(async (_args, opts, g) => {
        assertLocalMode('coffer init');
        const file = vaultPath(g);
        if (existsSync(file)) {
          throw new CofferError('ALREADY_EXISTS', `a vault already exists at ${file}`, {
            hint: 'Use it as it is, or choose another location with --vault or COFFER_HOME.',
          });
        }
        let masterKey: Uint8Array;
        let keySource: KeySource = 'key';
        let kdf: ReturnType<typeof newScryptParams> | undefined;
        let keyFile: string | undefined;
        let keyFileCreated = false;
        if (opts.passphrase) {
          keySource = 'passphrase';
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
          kdf = newScryptParams(opts.kdfLogN);
          masterKey = deriveKeyFromPassphrase(pass, kdf);
        } else if (process.env.COFFER_MASTER_KEY) {
          masterKey = parseMasterKey(process.env.COFFER_MASTER_KEY, 'COFFER_MASTER_KEY');
        } else {
          keyFile = keyFilePath(g);
          if (existsSync(keyFile)) {
            masterKey = readKeyFile(keyFile);
          } else {
            masterKey = createKeyFile(keyFile);
            keyFileCreated = true;
          }
        }
        const storage = openSqliteStorage(file, { create: true });
        let ok = false;
        try {
          const { kekId } = await initVault(storage, {
            masterKey,
            keySource,
            kdf,
            actor: cliActor(),
          });
          if (opts.json) {
            printJson({ vault: file, keySource, keyFile: keyFile ?? null, keyFileCreated, kekId });
          } else {
            note(`created vault ${file}`);
            if (keyFile !== undefined) {
              note(
                `${keyFileCreated ? 'created' : 'using existing'} key file ${keyFile} (mode 0600)`,
              );
              warn('back up the key file somewhere safe: without it the vault cannot be opened');
            }
          }
          ok = true;
        } finally {
          masterKey.fill(0);
          await storage.close();
          // A half-made vault would block the next `init`; remove what this run created.
          if (!ok) for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
        }
        return 0;
      }),
    );
}
