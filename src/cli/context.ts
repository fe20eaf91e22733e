/**
 * Where the CLI finds its vault and key, and how it opens them.
 *
 *   COFFER_HOME (default ~/.coffer) holds vault.db and master.key;
 *   --vault PATH overrides the vault file; --key-file PATH or COFFER_KEY_FILE the key file
 *   (default: master.key beside the vault file).
 *   COFFER_ENV sets the default environment (otherwise `dev`).
 *   COFFER_URL + COFFER_TOKEN: remote mode, the secret commands talk to `coffer serve`
 *   (withBackend; see backend.ts).
 */
import { homedir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { deriveKeyFromPassphrase } from '../core/crypto/kdf.js';
import { CofferError } from '../core/errors.js';
import { parseMasterKey, readKeyFile } from '../core/keys/master-key.js';
import { parseEnvironment } from '../core/paths.js';
import { readVaultInfo } from '../core/store/init.js';
import { Vault } from '../core/store/vault.js';
import { openSqliteStorage, type SqliteStorage } from '../storage/sqlite/sqlite-storage.js';
import { assertLocalMode, isRemoteMode, localBackend, type SecretsBackend } from './backend.js';
import { promptHidden, readStdinLine, stdinIsTerminal } from './input.js';

export interface GlobalOptions {
  vault?: string;
  keyFile?: string;
  passphraseStdin?: boolean;
}

export function cofferHome(): string {
  return resolve(process.env.COFFER_HOME || join(homedir(), '.coffer'));
}

export function vaultPath(g: GlobalOptions): string {
  return resolve(g.vault ?? join(cofferHome(), 'vault.db'));
}

export function keyFilePath(g: GlobalOptions): string {
  return resolve(
    g.keyFile ?? process.env.COFFER_KEY_FILE ?? join(dirname(vaultPath(g)), 'master.key'),
  );
}

/** The environment for a command: --env, then COFFER_ENV, then `dev`. */
export function envOf(opts: { env?: string }): string {
  return parseEnvironment(opts.env ?? process.env.COFFER_ENV ?? 'dev');
}

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
  storage: SqliteStorage;
  close(): Promise<void>;
}

/** Opens the vault file and resolves its master key (env, key file, then passphrase). */
export async function openVault(g: GlobalOptions): Promise<OpenVault> {
  const file = vaultPath(g);
  const storage = openSqliteStorage(file);
  try {
    let masterKey: Uint8Array;
    if (process.env.COFFER_MASTER_KEY) {
      masterKey = parseMasterKey(process.env.COFFER_MASTER_KEY, 'COFFER_MASTER_KEY');
    } else {
      const info = await readVaultInfo(storage);
      if (info.keySource === 'passphrase' && info.kdf !== undefined) {
        masterKey = deriveKeyFromPassphrase(
          await readPassphrase(g, 'Vault passphrase: '),
          info.kdf,
        );
      } else {
        masterKey = readKeyFile(keyFilePath(g));
      }
    }
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

/** Opens the vault, runs `fn`, and always closes it. */
export async function withVault<T>(g: GlobalOptions, fn: (v: OpenVault) => Promise<T>): Promise<T> {
  const opened = await openVault(g);
  try {
    return await fn(opened);
  } finally {
    await opened.close();
  }
}

/**
 * The backend of the secret commands: the server when COFFER_URL is set (remote mode; the
 * client is imported only then), otherwise the local vault.
 */
export async function openBackend(g: GlobalOptions): Promise<SecretsBackend> {
  if (isRemoteMode()) {
    const { openRemoteBackend } = await import('./remote-backend.js');
    return openRemoteBackend();
  }
  return localBackend(await openVault(g));
}

/** Opens the backend, runs `fn`, and always closes it. */
export async function withBackend<T>(
  g: GlobalOptions,
  fn: (b: SecretsBackend) => Promise<T>,
): Promise<T> {
  const backend = await openBackend(g);
  try {
    return await fn(backend);
  } finally {
    await backend.close();
  }
}

/** withVault for a command that acts on the local vault file only: refused in remote mode. */
export function withLocalVault<T>(
  what: string,
  g: GlobalOptions,
  fn: (v: OpenVault) => Promise<T>,
): Promise<T> {
  assertLocalMode(what);
  return withVault(g, fn);
}
