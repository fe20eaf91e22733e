/**
 * Where the CLI finds its vault and key, and how it opens them.
 *
 *   COFFER_HOME (default ~/.coffer) holds vault.db and master.key;
 *   --vault PATH overrides the vault file; --key-file PATH or COFFER_KEY_FILE the key file
 *   (default: master.key beside the vault file).
 *   COFFER_DATABASE_URL=postgres://...: the vault is that PostgreSQL database (its schema from
 *   `?schema=`, default `coffer`) instead of the file; the master key comes from the same
 *   sources, and the default key file is $COFFER_HOME/master.key. The PostgreSQL module
 *   (and the optional `pg` driver) is imported only then.
 *   COFFER_ENV sets the default environment, before the project file's `env` (env-option.ts).
 *   COFFER_URL + COFFER_TOKEN: remote mode, the secret commands talk to `coffer serve`
 *   (withService; see backend.ts).
 */
import { homedir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { deriveKeyFromPassphrase } from '../core/crypto/kdf.js';
import { CofferError } from '../core/errors.js';
import { keyFileMissingError, parseMasterKey, readKeyFile } from '../core/keys/master-key.js';
import { localSecretsService } from '../core/service/local-service.js';
import type { SecretsService } from '../core/service/secrets-service.js';
import { readVaultInfo, type VaultInfo } from '../core/store/init.js';
import type { Storage } from '../core/store/storage.js';
import { Vault } from '../core/store/vault.js';
import { openSqliteStorage } from '../storage/sqlite/sqlite-storage.js';
import { assertLocalMode, isRemoteMode } from './backend.js';
import { promptHidden, readStdinLine, stdinIsTerminal } from './input.js';

export interface GlobalOptions {
  vault?: string;
  keyFile?: string;
  passphraseStdin?: boolean;
  /** Never ask for a passphrase (on a terminal or stdin): fail with MASTER_KEY_MISSING. */
  noPrompt?: boolean;
}

export function cofferHome(): string {
  return resolve(process.env.COFFER_HOME || join(homedir(), '.coffer'));
}

/** The PostgreSQL URL of the vault (COFFER_DATABASE_URL), or undefined: the vault file. */
export function databaseUrl(): string | undefined {
  const url = process.env.COFFER_DATABASE_URL ?? '';
  return url === '' ? undefined : url;
}

/** The vault file (when COFFER_DATABASE_URL is not set). */
export function vaultPath(g: GlobalOptions): string {
  return resolve(g.vault ?? join(cofferHome(), 'vault.db'));
}

/** The error for what only makes sense for a vault file, when COFFER_DATABASE_URL is set. */
export function notForDatabase(what: string): CofferError {
  return new CofferError(
    'USAGE',
    `${what} applies to a vault file only, and COFFER_DATABASE_URL makes the vault a PostgreSQL database`,
    { hint: 'Unset COFFER_DATABASE_URL to use a vault file, or leave out the file option.' },
  );
}

/** Where the vault is, for messages: the file, or the database's location (no password). */
export function vaultLocation(g: GlobalOptions, storage: Storage): string {
  return databaseUrl() === undefined ? vaultPath(g) : storage.location;
}

export function keyFilePath(g: GlobalOptions): string {
  const beside = databaseUrl() === undefined ? dirname(vaultPath(g)) : cofferHome();
  return resolve(g.keyFile ?? process.env.COFFER_KEY_FILE ?? join(beside, 'master.key'));
}

export interface StoreOptions {
  /** Create the store when missing (`coffer init`). */
  create?: boolean | undefined;
  /** PostgreSQL connections (default 2: a CLI command runs one transaction at a time). */
  poolSize?: number | undefined;
  /** SQLite: group commit, fsyncs off the event loop (a server; see WalSync). */
  groupCommit?: boolean | undefined;
}

/**
 * Opens the vault's storage: the PostgreSQL database of COFFER_DATABASE_URL (its module
 * loaded only then, so SQLite commands never load pg), otherwise the vault file.
 */
export async function openStore(g: GlobalOptions, options: StoreOptions = {}): Promise<Storage> {
  const url = databaseUrl();
  if (url === undefined) {
    return openSqliteStorage(vaultPath(g), {
      create: options.create === true,
      groupCommit: options.groupCommit === true,
    });
  }
  if (g.vault !== undefined) throw notForDatabase('--vault');
  const { openPostgresStorage } = await import('../storage/postgres/postgres-storage.js');
  return openPostgresStorage(url, {
    create: options.create ?? false,
    poolSize: options.poolSize ?? 2,
  });
}

export { envOf } from './env-option.js';

/** The audit actor for CLI commands: `cli:<os user>`. */
export function cliActor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? 'unknown';
  }
  return `cli:${user}`;
}

/** A passphrase from COFFER_PASSPHRASE, --passphrase-stdin, or a hidden prompt. */
export async function readPassphrase(g: GlobalOptions, question: string): Promise<string> {
  if (process.env.COFFER_PASSPHRASE !== undefined) return process.env.COFFER_PASSPHRASE;
  if (g.noPrompt) {
    throw new CofferError('MASTER_KEY_MISSING', 'this vault needs a passphrase', {
      hint: 'Set COFFER_PASSPHRASE, pass --passphrase-stdin, or set COFFER_MASTER_KEY.',
    });
  }
  if (g.passphraseStdin) return readStdinLine('passphrase');
  if (stdinIsTerminal()) return promptHidden(question);
  throw new CofferError(
    'MASTER_KEY_MISSING',
    'this vault needs a passphrase and there is no terminal to ask on',
    {
      hint: 'Set COFFER_PASSPHRASE, pass --passphrase-stdin, or set COFFER_MASTER_KEY.',
    },
  );
}

export interface OpenVault {
  vault: Vault;
  storage: Storage;
  close(): Promise<void>;
}

/**
 * Opens the vault (file or COFFER_DATABASE_URL) and resolves its master key (env, key file,
 * then passphrase).
 */
export async function openVault(g: GlobalOptions, options: StoreOptions = {}): Promise<OpenVault> {
  const storage = await openStore(g, {
    poolSize: options.poolSize,
    groupCommit: options.groupCommit,
  });
  try {
    const masterKey = await readMasterKey(g, storage);
    const vault = new Vault(storage, masterKey, { actor: cliActor() });
    masterKey.fill(0);
    return {
      vault,
      storage,
      async close() {
        vault.close();
        await storage.close();
      },
    };
  } catch (err) {
    await storage.close();
    throw err;
  }
}

/**
 * The master key of the vault in `storage`: COFFER_MASTER_KEY, else its passphrase (a
 * passphrase vault), else its key file. `info` is what the vault says about itself (read from
 * `storage` when not given: a backup being restored gives its own).
 */
export async function readMasterKey(
  g: GlobalOptions,
  storage: Storage | undefined,
  info?: Pick<VaultInfo, 'keySource' | 'kdf'>,
): Promise<Uint8Array> {
  if (process.env.COFFER_MASTER_KEY) {
    return parseMasterKey(process.env.COFFER_MASTER_KEY, 'COFFER_MASTER_KEY');
  }
  const about = info ?? (storage === undefined ? undefined : await readVaultInfo(storage));
  if (about?.keySource === 'passphrase' && about.kdf !== undefined) {
    return deriveKeyFromPassphrase(await readPassphrase(g, 'Vault passphrase: '), about.kdf);
  }
  const keyFile = keyFilePath(g);
  try {
    return readKeyFile(keyFile);
  } catch (err) {
    if (err instanceof CofferError && err.code === 'MASTER_KEY_MISSING' && storage !== undefined) {
      throw keyFileMissingError(keyFile, vaultLocation(g, storage), err);
    }
    throw err;
  }
}

/** Opens the vault, runs `fn`, and always closes it. */
export async function withVault<T>(
  g: GlobalOptions,
  fn: (v: OpenVault) => Promise<T>,
  options: StoreOptions = {},
): Promise<T> {
  const opened = await openVault(g, options);
  try {
    return await fn(opened);
  } finally {
    await opened.close();
  }
}

/**
 * The SecretsService of the secret commands: the server when COFFER_URL is set (remote mode;
 * the client is imported only then), otherwise the local vault (closed with the service).
 */
export async function openService(g: GlobalOptions): Promise<SecretsService> {
  if (isRemoteMode()) {
    const { openRemoteService } = await import('./remote-service.js');
    return openRemoteService();
  }
  const opened = await openVault(g);
  return localSecretsService(opened.vault, { close: () => opened.close() });
}

/** Opens the service, runs `fn`, and always closes it. */
export async function withService<T>(
  g: GlobalOptions,
  fn: (s: SecretsService) => Promise<T>,
): Promise<T> {
  const service = await openService(g);
  try {
    return await fn(service);
  } finally {
    await service.close();
  }
}

/**
 * withVault for a command that needs the vault itself, not the HTTP API: refused in remote
 * mode. (The vault may be a file or the COFFER_DATABASE_URL database.)
 */
export function withLocalVault<T>(
  what: string,
  g: GlobalOptions,
  fn: (v: OpenVault) => Promise<T>,
  options: StoreOptions = {},
): Promise<T> {
  assertLocalMode(what);
  return withVault(g, fn, options);
}
