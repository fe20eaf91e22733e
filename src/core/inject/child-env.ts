/**
 * The environment coffer gives the programs it starts. coffer's own credentials stay with
 * coffer: a program started by `coffer run` (or git, gh, flyctl, kubectl, a browser) does
 * not get the master key, the passphrase, the server token or the database URL that coffer
 * itself was given, unless the user passes one on explicitly, per variable.
 *
 * Stripped (compared case-insensitively, as Windows would):
 * - COFFER_MASTER_KEY, COFFER_PASSPHRASE: open the whole vault.
 * - COFFER_TOKEN: the server token of remote mode, with every right of its policy.
 * - COFFER_DATABASE_URL: holds the database password; with it and a key, the vault.
 * - COFFER_BACKUP_PASSPHRASE: opens backups, and one made with `--include-master-key` holds
 *   the master key.
 * - COFFER_KEY_FILE: not a secret itself, but it tells the program where the master key is;
 *   a program that needs a vault can be given its own.
 * Kept: COFFER_URL, COFFER_ENV, COFFER_HOME (addresses and defaults, no credential), and
 * COFFER_DATA_KEYS, which belongs to the application (`coffer/envelope`) and not to the CLI.
 *
 * A secret in the vault that is named like one of these (an application's own COFFER_TOKEN
 * for its own server) is injected as usual: this removes only what coffer inherited.
 */
import { CofferError } from '../errors.js';

/** coffer's credential-bearing variables, never passed to a child unless asked for. */
export const CREDENTIAL_ENV_NAMES: readonly string[] = [
  'COFFER_MASTER_KEY',
  'COFFER_PASSPHRASE',
  'COFFER_TOKEN',
  'COFFER_DATABASE_URL',
  'COFFER_BACKUP_PASSPHRASE',
  'COFFER_KEY_FILE',
];

const CREDENTIALS = new Set(CREDENTIAL_ENV_NAMES);

/** Validates `--pass-env` names: only credential variables need (or accept) it. */
export function parsePassEnv(names: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const name of names) {
    const upper = name.toUpperCase();
    if (!CREDENTIALS.has(upper)) {
      throw new CofferError(
        'USAGE',
        `--pass-env ${JSON.stringify(name.slice(0, 80)).slice(1, -1)}: only coffer's own credential variables are withheld from programs`,
        { hint: `--pass-env takes one of ${CREDENTIAL_ENV_NAMES.join(', ')}.` },
      );
    }
    out.add(upper);
  }
  return out;
}

/**
 * A copy of `parent` without coffer's credential variables, except those in `pass`
 * (uppercase names from parsePassEnv). Undefined entries are dropped.
 */
export function childEnvironment(
  parent: Readonly<Record<string, string | undefined>>,
  pass: ReadonlySet<string> = new Set(),
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined) continue;
    const upper = name.toUpperCase();
    if (CREDENTIALS.has(upper) && !pass.has(upper)) continue;
    out[name] = value;
  }
  return out;
}
