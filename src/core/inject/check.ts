/**
 * The one check every injector applies before a secret becomes an environment variable:
 * `coffer run` and every .env writer (`env pull`, `set --dotenv`, `generate --dotenv`,
 * `env format`, MCP `write_env`). A refused name (names.ts) stops the whole operation before
 * anything is started or written; the error names each variable and the key path it came
 * from, and says how the operator allows it on this machine. Only local configuration can allow a name (a
 * command-line flag or the project file); nothing stored in the vault can, so a remote writer
 * cannot enable what it could abuse.
 *
 * Every refusal is audited where the caller has an audit log to write to (`run`, `export`,
 * `sync`, `setup --write-env`, `env pull`, `set --dotenv`, `generate --store`, `rotate`, MCP
 * `write_env`): one `denied` record per refused variable, with its key path, environment and
 * `ENV_NAME_REFUSED NAME: reason` as the detail (recordRefusedNames), never a value, written
 * before the error is thrown. `generate --dotenv` alone and `env format` need no vault: they
 * record a refusal in the local one when there is one.
 */
import type { Denier } from '../access/policy.js';
import { CofferError } from '../errors.js';
import { allowKey, refusedEnvName } from './names.js';

/** A variable about to be injected, and where its name came from. */
export interface InjectedName {
  /** The env-var name (metadata `envVar`, or the secret's name uppercased). */
  readonly name: string;
  /** The key path of the secret, or a description of the source (`--env-var`). */
  readonly path: string;
}

/** Names the operator allowed on this machine (flags, project file); compared case-insensitively. */
export type AllowedNames = Iterable<string>;

/** The refused names among `vars`, with the reason for each (empty: all may be injected). */
export function refusedNames(
  vars: readonly InjectedName[],
  allowed: AllowedNames = [],
): { name: string; path: string; reason: string; allowable: boolean }[] {
  const allow = new Set<string>();
  for (const a of allowed) allow.add(allowKey(a));
  const out: { name: string; path: string; reason: string; allowable: boolean }[] = [];
  for (const v of vars) {
    const refused = refusedEnvName(v.name);
    if (refused === undefined) continue;
    // An invalid name (`A=B`, a NUL) can never be allowed: it would set another variable.
    const allowable = refused.invalid !== true;
    if (allowable && allow.has(allowKey(v.name))) continue;
    out.push({ name: v.name, path: v.path, reason: refused.reason, allowable });
  }
  return out;
}

/** Shows a name from stored metadata safely in a message (it may hold anything). */
function shown(name: string): string {
  const capped = name.length > 80 ? `${name.slice(0, 80)}…` : name;
  return JSON.stringify(capped).slice(1, -1);
}

/**
 * Refuses variables where two secrets give one name (`api-key` and `api_key` are both
 * API_KEY, or an --env-var set to another's name): which value a program, a .env file or an
 * export got would depend on the command (VALUE_CONFLICT, naming both key paths).
 */
export function assertOneSecretPerVariable(vars: readonly InjectedName[]): void {
  const byName = new Map<string, string>();
  for (const v of vars) {
    const other = byName.get(v.name);
    if (other !== undefined && other !== v.path) {
      throw new CofferError(
        'VALUE_CONFLICT',
        `two secrets give the variable ${shown(v.name)}: ${other} and ${v.path}; nothing was written or started`,
        {
          hint: 'Give one of them another variable name (coffer describe PATH --env-var NAME), or delete the one no longer used.',
        },
      );
    }
    byName.set(v.name, v.path);
  }
}

/** A refused variable: its name, where it came from, why, and whether a flag can allow it. */
export type RefusedVariable = ReturnType<typeof refusedNames>[number];

/**
 * Where a refusal is audited: as `action` (`run`, `export`, ...), in `env`, through `deny`.
 * `env` is undefined for names no secret of an environment gave (`generate NAME --dotenv`,
 * the keys of `env format`'s input).
 */
export interface NameRefusalAudit {
  readonly action: string;
  readonly env: string | undefined;
  readonly deny: Denier;
}

/**
 * Writes one `denied` audit record per refused variable: its key path and environment, and
 * `ENV_NAME_REFUSED NAME: reason` as the detail. The one place these records are made, so a
 * refusal reads the same in the log whichever command refused it.
 */
export async function recordRefusedNames(
  refused: readonly RefusedVariable[],
  audit: NameRefusalAudit,
): Promise<void> {
  for (const r of refused) {
    await audit.deny(
      audit.action,
      { path: r.path, env: audit.env },
      `ENV_NAME_REFUSED ${shown(r.name)}: ${r.reason}`,
    );
  }
}

/**
 * Throws ENV_NAME_REFUSED when any of `vars` may not be injected. `verb` says what was refused
 * (`inject`, `write .env with`); `localAllow` false when the caller offers no way to allow a
 * name (MCP `write_env`: an agent must never be able to).
 */
export function assertInjectableNames(
  vars: readonly InjectedName[],
  allowed: AllowedNames = [],
  verb = 'inject',
  localAllow = true,
): void {
  assertOneSecretPerVariable(vars);
  const refused = refusedNames(vars, allowed);
  if (refused.length > 0) throw nameRefusal(refused, verb, localAllow);
}

/**
 * assertInjectableNames, with each refused variable audited as denied (recordRefusedNames)
 * before the error is thrown; without `audit`, nothing is recorded.
 */
export async function assertInjectableNamesAudited(
  vars: readonly InjectedName[],
  allowed: AllowedNames,
  audit: NameRefusalAudit | undefined,
  verb = 'inject',
  localAllow = true,
): Promise<void> {
  assertOneSecretPerVariable(vars);
  const refused = refusedNames(vars, allowed);
  if (refused.length === 0) return;
  if (audit !== undefined) await recordRefusedNames(refused, audit);
  throw nameRefusal(refused, verb, localAllow);
}

/** The ENV_NAME_REFUSED error for `refused`, with the hint that says how to go on. */
function nameRefusal(
  refused: readonly RefusedVariable[],
  verb: string,
  localAllow: boolean,
): CofferError {
  const parts = refused.map((r) => `${shown(r.name)} (from ${r.path}: ${r.reason})`);
  const allowable = refused.filter((r) => r.allowable).map((r) => shown(r.name));
  const flags = allowable.map((n) => `--allow-env-name ${n}`).join(' ');
  const rename = 'give the secret another variable name (coffer describe PATH --env-var NAME)';
  let hint: string;
  if (allowable.length === 0) hint = `Names must be valid variable names: ${rename}.`;
  else if (!localAllow)
    hint = `These names change how programs load or run code and are never written here; ${rename}, or have the user write it with coffer env pull --allow-env-name. See docs/injection.md.`;
  else
    hint = `These names change how programs load or run code, so a secret may set one only if you allow it on this machine: ${flags}, or allow_env_names=${allowable.join(',')} in the project's .coffer file. Otherwise ${rename}. See docs/injection.md.`;
  return new CofferError(
    'ENV_NAME_REFUSED',
    `refused to ${verb} ${refused.length === 1 ? 'the variable' : `${refused.length} variables`} ${parts.join(', ')}`,
    { hint },
  );
}
