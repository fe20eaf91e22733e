/**
 * What `coffer setup` does for each variable of the manifest in one environment, decided
 * before anything is read or written (the executor, setup.ts, carries the plan out; `--dry-run`
 * prints it). The rules, from the seed workflows:
 *
 * 1. A value already in the vault is kept: setup never overwrites (generate-if-absent).
 * 2. A value already in the target .env file and not in the vault is imported, not replaced.
 * 3. A variable set in the process environment wins over generating and asking (it is how a
 *    deploy injects values); an `env:` source reads the variable it names.
 * 4. A `generate` source generates what is missing, except a tier 1 secret outside a
 *    development environment, which is generated only when the caller says so
 *    (`--generate-missing`): production keys are injected or entered, not made up by a setup
 *    script.
 * 5. `ask` prompts on a terminal; without one, every variable that would be asked is listed
 *    as missing, all at once.
 * 6. Plain configuration (`sensitive: false`) with a manifest value goes to the .env file
 *    only; it is not stored in the vault.
 * 7. An optional variable that cannot be resolved is skipped, never asked for.
 * 8. A shared secret (`meta/{service}/{name}`, the only path outside the project a manifest
 *    may name: parse.ts) is read, never created: kept when it is stored, else missing (or
 *    skipped when optional), whatever the .env file or the environment holds.
 *
 * Nothing here holds a secret value: the plan names variables and says where each value
 * will come from.
 */
import type { Denier, Target } from '../access/policy.js';
import { CofferError } from '../errors.js';
import { closestMatch } from '../suggest.js';
import { type Manifest, type ManifestVariable, type Source, sourceFor } from './model.js';

/** Environments where a tier 1 secret may be generated without `--generate-missing`. */
export const DEVELOPMENT_ENVIRONMENTS: readonly string[] = ['dev', 'development', 'local', 'test'];

/**
 * An agent (MCP `setup_project`) sets up development environments only: the others take
 * values a person gives. Refused through `deny` (audited, outcome denied) with FORBIDDEN.
 */
export async function authorizeAgentSetup(
  deny: Denier,
  target: Target & { env: string },
): Promise<void> {
  if (DEVELOPMENT_ENVIRONMENTS.includes(target.env)) return;
  const reason = `setup_project sets up development environments only (${DEVELOPMENT_ENVIRONMENTS.join(', ')}), not ${target.env}`;
  await deny('setup_project', target, reason);
  throw new CofferError('FORBIDDEN', reason, {
    hint: `A person runs \`coffer setup --env ${target.env}\` with the values it needs.`,
  });
}

export type SetupStep =
  /** In the vault already: kept (and written to the .env file). */
  | { action: 'keep' }
  /** In the .env file, not in the vault: stored from the file. */
  | { action: 'import'; file: string }
  /** Taken from the process environment variable `variable` and stored. */
  | { action: 'from-env'; variable: string }
  /** Generated with `spec` and stored. */
  | { action: 'generate'; spec: string }
  /** Prompted for (hidden input) and stored. */
  | { action: 'ask' }
  /** A plain setting written to the .env file only. */
  | { action: 'value' }
  /** Optional and unresolved: left out. */
  | { action: 'skip'; reason: string }
  /** Required and unresolved: setup fails, listing every such variable. */
  | { action: 'missing'; reason: string };

export interface PlannedVariable {
  variable: ManifestVariable;
  source: Source;
  step: SetupStep;
}

/** What the planner knows about the world, by variable name (no values). */
export interface SetupState {
  /** Variables whose key path holds a live secret in the vault for this environment. */
  inVault: ReadonlySet<string>;
  /** Variables whose key path holds a deleted secret (setup refuses to revive it). */
  deletedInVault: ReadonlySet<string>;
  /** Variables with a non-empty value in the target .env file (its name for messages). */
  inFile: ReadonlySet<string>;
  fileName?: string | undefined;
  /** Names set (non-empty) in the process environment. */
  processEnv: ReadonlySet<string>;
  /** A terminal to ask on. */
  interactive: boolean;
  /** `--generate-missing`: generate tier 1 secrets outside development too. */
  generateMissing: boolean;
}

/** Is `v` a secret of the manifest's own project (else a shared one, only read)? */
export function ownedBy(
  manifest: Pick<Manifest, 'project'>,
  v: Pick<ManifestVariable, 'path'>,
): boolean {
  return v.path.startsWith(`project/${manifest.project}/`);
}

function stepFor(
  v: ManifestVariable,
  source: Source,
  env: string,
  s: SetupState,
  owned: boolean,
): SetupStep {
  if (s.deletedInVault.has(v.name)) {
    return {
      action: 'missing',
      reason: `${v.path} (${env}) is deleted; restore it with \`coffer restore\` or remove it from the manifest`,
    };
  }
  if (!owned) {
    if (s.inVault.has(v.name)) return { action: 'keep' };
    const reason = `${v.path} is a shared secret: setup reads it, never creates it; store it with \`coffer set ${v.path} --env ${env}\``;
    return v.required ? { action: 'missing', reason } : { action: 'skip', reason };
  }
  if (!v.sensitive && source.kind === 'value') return { action: 'value' };
  if (s.inVault.has(v.name)) return { action: 'keep' };
  if (s.inFile.has(v.name)) return { action: 'import', file: s.fileName ?? '.env' };
  if (source.kind === 'env') {
    if (s.processEnv.has(source.variable)) return { action: 'from-env', variable: source.variable };
  } else if (s.processEnv.has(v.name)) {
    return { action: 'from-env', variable: v.name };
  }
  const unresolved = (reason: string): SetupStep =>
    v.required ? { action: 'missing', reason } : { action: 'skip', reason };
  switch (source.kind) {
    case 'generate':
      if (v.tier === 1 && !DEVELOPMENT_ENVIRONMENTS.includes(env) && !s.generateMissing) {
        // Seed 002's interactive fallback: a tier 1 secret missing outside development is
        // asked for on a terminal, never made up unless told.
        if (s.interactive) return { action: 'ask' };
        return unresolved(
          `tier 1 secrets are not generated in ${env} unless told (--generate-missing); export ${v.name} or store it with \`coffer set\``,
        );
      }
      return { action: 'generate', spec: source.spec };
    case 'env':
      // Not exported: asked for on a terminal (the deploy's variable, given by hand).
      return s.interactive
        ? { action: 'ask' }
        : unresolved(`${source.variable} is not set in the environment`);
    case 'value':
      // A sensitive variable cannot carry a value (the manifest reader refuses it).
      return unresolved('no value');
    case 'ask':
      return s.interactive
        ? { action: 'ask' }
        : unresolved('not set, and there is no terminal to ask on');
  }
}

/**
 * `env` when the manifest allows it: any environment when it lists none, else one of those.
 * Throws INVALID_ENV (with a suggestion) for another.
 */
export function manifestEnvironment(manifest: Manifest, env: string): string {
  if (manifest.environments.length === 0 || manifest.environments.includes(env)) return env;
  const near = closestMatch(env, manifest.environments);
  throw new CofferError(
    'INVALID_ENV',
    `environment "${env}" is not in ${manifest.file} (environments: ${manifest.environments.join(', ')})`,
    { hint: near === undefined ? undefined : `did you mean --env ${near}?` },
  );
}

/** The plan for `env` (which must be one of the manifest's: `manifestEnvironment`). */
export function planSetup(manifest: Manifest, env: string, state: SetupState): PlannedVariable[] {
  manifestEnvironment(manifest, env);
  return manifest.variables.map((variable) => {
    const source = sourceFor(variable, env);
    return {
      variable,
      source,
      step: stepFor(variable, source, env, state, ownedBy(manifest, variable)),
    };
  });
}

/** The missing variables of a plan, for the one error that lists them all. */
export function missingOf(plan: readonly PlannedVariable[]): PlannedVariable[] {
  return plan.filter((p) => p.step.action === 'missing');
}
