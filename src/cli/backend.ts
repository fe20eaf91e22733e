/**
 * Local or remote mode. The CLI's secret commands use one SecretsService (core/service):
 * the local vault, or a `coffer serve` server when COFFER_URL is set (remote-service.ts).
 * context.ts picks it (`withService`); commands call only its methods, so their output and
 * exit codes are the same in both modes.
 *
 * Commands that act on the vault file itself (init, key, describe, delete, restore,
 * env import, generate --store) stay local and refuse to run in remote mode, rather than
 * quietly opening a local vault while COFFER_URL names another.
 */
import { notInRemoteMode } from '../core/service/secrets-service.js';

export { notInRemoteMode } from '../core/service/secrets-service.js';

/** True when COFFER_URL is set: the secret commands talk to a server. */
export function isRemoteMode(): boolean {
  return (process.env.COFFER_URL ?? '') !== '';
}

/** For commands that act on the local vault file only. */
export function assertLocalMode(what: string): void {
  if (isRemoteMode()) throw notInRemoteMode(what);
}
