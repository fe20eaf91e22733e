/**
 * The names rule (core/inject) for the commands that need no vault: `generate NAME --dotenv`
 * without `--store` (a name typed on the command line) and `env format` (the keys of its JSON
 * input). They refuse what every injector refuses, with the same error, and a refusal goes
 * into the audit log of this machine's vault when there is one, as the others' refusals do.
 */
import { CofferError } from '../core/errors.js';
import {
  type AllowedNames,
  assertInjectableNames,
  type InjectedName,
  type RefusedVariable,
  recordRefusedNames,
  refusedNames,
} from '../core/inject/index.js';
import { isRemoteMode } from './backend.js';
import { type GlobalOptions, type OpenVault, openVault } from './context.js';
import { warn } from './output.js';

/**
 * assertInjectableNames for a command that opens no vault: a refusal is recorded in the local
 * vault (recordLocally) before ENV_NAME_REFUSED is thrown.
 */
export async function assertInjectableNamesWithoutVault(
  g: GlobalOptions,
  vars: readonly InjectedName[],
  allowed: AllowedNames,
  verb: string,
  action: string,
): Promise<void> {
  try {
    assertInjectableNames(vars, allowed, verb);
  } catch (err) {
    if (err instanceof CofferError && err.code === 'ENV_NAME_REFUSED') {
      await recordLocally(g, action, refusedNames(vars, allowed));
    }
    throw err;
  }
}

/**
 * One `denied` record per refused name in the local vault, without key path or environment
 * (the names are no secret's). No vault on this machine: nothing is recorded, since there is
 * no log to write to (these commands work without one, before `coffer init` too). Remote mode:
 * nothing either, as for `run` there (a server takes no audit records from its clients). A
 * vault that cannot be opened without asking for its passphrase, or at all, is not asked: the
 * refusal stands, and a warning says it is not in the log.
 */
async function recordLocally(
  g: GlobalOptions,
  action: string,
  refused: readonly RefusedVariable[],
): Promise<void> {
  if (isRemoteMode()) return;
  let opened: OpenVault;
  try {
    opened = await openVault({ ...g, noPrompt: true });
  } catch (err) {
    if (err instanceof CofferError && err.code === 'VAULT_NOT_FOUND') return;
    const why = err instanceof CofferError ? err.message : 'the vault could not be opened';
    warn(`the refusal is not in the audit log: ${why}`);
    return;
  }
  try {
    const { vault } = opened;
    await recordRefusedNames(refused, {
      action,
      env: undefined,
      deny: (a, _target, reason) => vault.recordDenied(a, {}, reason),
    });
  } finally {
    await opened.close();
  }
}
