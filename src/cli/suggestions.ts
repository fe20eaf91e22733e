/**
 * Did-you-mean hints from what exists, for the CLI: when a command fails on a key path,
 * prefix, project or environment (not found, or not valid), the secrets the user may list
 * are read once and core/suggest-paths.ts picks the closest names for the hint. Only on
 * that failure path: a command that succeeds lists nothing. The list is an ordinary audited
 * `list` (in remote mode the server's, within the token's policy). Nothing here sees a value.
 */
import { CofferError } from '../core/errors.js';
import type { SecretsService } from '../core/service/secrets-service.js';
import {
  type ExistingSecret,
  emptyListHint,
  type Lookup,
  SUGGESTED_CODES,
  suggestFromExisting,
} from '../core/suggest-paths.js';
import { type GlobalOptions, openService } from './context.js';
import { givenEnvOf } from './env-option.js';

/** What can list secrets: an open backend or vault. */
export interface Lister {
  list(options: Record<string, never>): Promise<readonly ExistingSecret[]>;
}

/**
 * Every live secret's address the user may list, or undefined when it cannot be read. With
 * no `lister` a backend is opened for it, without asking for a passphrase (a suggestion is
 * not worth a prompt).
 */
export async function existingSecrets(
  g: GlobalOptions,
  lister?: Lister,
): Promise<ExistingSecret[] | undefined> {
  let own: SecretsService | undefined;
  try {
    own = lister === undefined ? await openService({ ...g, noPrompt: true }) : undefined;
    const items = await (lister ?? own)!.list({});
    return items.map((s) => ({ path: s.path, env: s.env }));
  } catch {
    // No vault, no key, no server: the original error is what the user needs.
    return undefined;
  } finally {
    await own?.close().catch(() => undefined);
  }
}

/**
 * Runs `fn`; an INVALID_PATH, SECRET_NOT_FOUND or INVALID_ENV error from it is rethrown with
 * a hint naming what exists close to `lookup`. `lister` (an open backend or vault), when
 * given, makes the list (it must still be open when `fn` fails); otherwise a backend is
 * opened for it.
 */
export async function withSuggestions<T>(
  g: GlobalOptions,
  lookup: Lookup,
  fn: () => Promise<T>,
  lister?: Lister,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof CofferError) || !SUGGESTED_CODES.has(err.code)) throw err;
    const existing = await existingSecrets(g, lister);
    throw existing === undefined ? err : suggestFromExisting(err, lookup, existing);
  }
}

/** The note for a list that found nothing: what is close, if anything. */
export async function emptyListNote(
  g: GlobalOptions,
  lister: Lister,
  prefix: string | undefined,
  env: string | undefined,
): Promise<string | undefined> {
  const existing = await existingSecrets(g, lister);
  return existing === undefined ? undefined : emptyListHint(prefix, env, existing);
}

/**
 * The environment as the user gave it (for hints), by the one rule (env-option.ts) for a
 * command on `project` (undefined: none named).
 */
export function envInput(opts: { env?: string | undefined }, project?: string): string {
  return givenEnvOf(opts, project);
}
