/**
 * The environment of a program started by `coffer run`: coffer's environment without its
 * credentials (child-env.ts), plus the project's secrets under their env-var names, after the
 * name check (check.ts). One function so that the rule is the same for a local vault and a
 * server, and the CLI only formats what it returns.
 *
 * - A refused name fails the whole run before anything starts (ENV_NAME_REFUSED), whether or
 *   not the variable would win over the inherited environment: the vault holding such a name
 *   is the problem, and `--override` would inject it. Each refused variable is audited as a
 *   `run` record, outcome `denied` (check.ts: recordRefusedNames), when `audit` is given.
 * - A stored value with a NUL character cannot be an environment variable (the OS ends the
 *   string there). New values with NUL are refused on input; one stored before that rule is
 *   skipped and reported by name, so the rest of the project still runs.
 */
import { type AllowedNames, assertInjectableNamesAudited, type NameRefusalAudit } from './check.js';
import { childEnvironment } from './child-env.js';

/** A secret about to be injected (a ProjectSecret of the vault or the client). */
export interface RunSecret {
  readonly path: string;
  readonly envVar: string;
  readonly value: string;
}

export interface RunEnvironmentOptions {
  /** Vault values replace variables already set (`--override`). */
  override?: boolean;
  /** Names the operator allowed on this machine. */
  allowNames?: AllowedNames;
  /** Credential variables to pass on anyway (uppercase, from parsePassEnv). */
  passEnv?: ReadonlySet<string>;
  /** Where a refused name is audited as denied (the run's secrets service); none: not. */
  audit?: NameRefusalAudit;
}

export interface RunEnvironment {
  env: Record<string, string>;
  /** Values injected (for --mask). */
  values: string[];
  /** Variables left out, with why; never their values. */
  skipped: { name: string; path: string; reason: string }[];
}

export async function runEnvironment(
  secrets: readonly RunSecret[],
  parent: Readonly<Record<string, string | undefined>>,
  options: RunEnvironmentOptions = {},
): Promise<RunEnvironment> {
  await assertInjectableNamesAudited(
    secrets.map((s) => ({ name: s.envVar, path: s.path })),
    options.allowNames ?? [],
    options.audit,
    'inject',
  );
  const env = childEnvironment(parent, options.passEnv);
  const values: string[] = [];
  const skipped: RunEnvironment['skipped'] = [];
  for (const s of secrets) {
    if (s.value.includes('\u0000')) {
      skipped.push({
        name: s.envVar,
        path: s.path,
        reason: 'its stored value holds a NUL character, which an environment variable cannot',
      });
      continue;
    }
    if (options.override || env[s.envVar] === undefined) env[s.envVar] = s.value;
    values.push(s.value);
  }
  return { env, values, skipped };
}
