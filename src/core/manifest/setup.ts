/**
 * `coffer setup`: carries out the plan of setup-plan.ts against a vault (the local one or a
 * server) and, when asked, writes the .env file.
 *
 * Order: everything is checked and planned first (a missing variable stops the run before
 * anything is stored, naming every missing one at once); then each value goes into the vault
 * (generated values through generate-if-absent, core/generate/ensure.ts, which never
 * overwrites; imported, injected and asked values with check-and-set on version 0, so a value
 * another process stored meanwhile is never replaced); the .env file comes last, from the
 * vault's values, through the one .env writer (core/dotenv/write.ts), so a second run changes
 * nothing and leaves the file byte for byte as it was.
 *
 * Bounds: setup acts under an access policy of its own (`setupVault`): it may create and read
 * the secrets of the manifest's project in this environment, and read the shared `meta/`
 * secrets the manifest names; any other key path is refused as FORBIDDEN (audited as denied)
 * whatever the caller's own rights. A .env file is written only with names every injector
 * accepts (core/inject: NODE_OPTIONS, BASH_ENV, ... unless the manifest's `allow_env_names` or
 * the caller allows them), checked before anything is stored.
 *
 * No value enters the result or an error: steps name variables and key paths.
 */
import { AccessPolicy, authorize, type Denier, type Target } from '../access/policy.js';
import { parseDotenv } from '../dotenv/parse.js';
import { type DotenvChange, readDotenvFile, writeDotenv } from '../dotenv/write.js';
import { CofferError } from '../errors.js';
import { ensureGenerated, type GenerateVault, sameSecret } from '../generate/ensure.js';
import { parseGeneratorSpec } from '../generate/spec.js';
import { recordRefusedNames, refusedNames } from '../inject/check.js';
import { childEnvironment } from '../inject/child-env.js';
import { envVarNameFor, parseKeyPath } from '../paths.js';
import type { WrittenSecret } from '../rotation/places.js';
import type { SecretMetadata, TokenCapability } from '../store/storage.js';
import type { ReadOutcome, ReadRequest, SecretInfo, SetResult } from '../store/vault.js';
import type { Manifest, ManifestVariable } from './model.js';
import {
  DEVELOPMENT_ENVIRONMENTS,
  missingOf,
  ownedBy,
  type PlannedVariable,
  planSetup,
  type SetupStep,
} from './setup-plan.js';

/** What setup needs from a vault. */
export interface SetupVault extends GenerateVault {
  /** Audits a refusal (outcome denied), as every SecretsService does. */
  denied: Denier;
  list(options: {
    prefix?: string | undefined;
    env?: string | undefined;
    includeDeleted?: boolean;
  }): Promise<SecretInfo[]>;
  getMany(requests: readonly ReadRequest[]): Promise<ReadOutcome[]>;
  /** Audits what a .env write carried (rotation/places.ts); absent where it cannot. */
  recordFileWrite?(file: string, secrets: readonly WrittenSecret[], via: string): Promise<unknown>;
  set(
    path: string,
    env: string,
    value: string,
    options: {
      description?: string | undefined;
      metadata?: Partial<Omit<SecretMetadata, 'description'>> | undefined;
      ifVersion?: number | undefined;
    },
  ): Promise<SetResult>;
}

export interface SetupOptions {
  env: string;
  /** Plan and report only. */
  dryRun?: boolean;
  /** Generate tier 1 secrets outside development too. */
  generateMissing?: boolean;
  /** The .env file to write (after the vault); undefined: the vault only. */
  dotenv?: string | undefined;
  /**
   * The process environment (values injected by a deploy). coffer's own credential variables
   * (COFFER_MASTER_KEY, COFFER_TOKEN, ...: CREDENTIAL_ENV_NAMES) are never read from it: a
   * manifest naming one would copy the key to the whole vault into a project's secrets.
   */
  processEnv: Readonly<Record<string, string | undefined>>;
  /** Asks for a value with echo off; undefined when there is no terminal. */
  ask?: ((variable: ManifestVariable) => Promise<string>) | undefined;
  /**
   * Names the operator allows in the .env file although coffer refuses them by default
   * (`--allow-env-name`, the project file), besides the manifest's own `allow_env_names`.
   */
  allowEnvNames?: readonly string[] | undefined;
}

export interface SetupStepResult {
  name: string;
  path: string;
  action: SetupStep['action'];
  /** Why a variable is skipped or missing. */
  reason?: string;
}

export interface SetupResult {
  project: string;
  env: string;
  dryRun: boolean;
  steps: SetupStepResult[];
  /** The .env file, when one was written (or would be, with dryRun). */
  dotenv: { file: string; changes: DotenvChange[]; written: boolean } | undefined;
  warning: string | undefined;
}

function metadataOf(v: ManifestVariable): Partial<Omit<SecretMetadata, 'description'>> {
  const meta: Partial<Omit<SecretMetadata, 'description'>> = { localOnly: v.localOnly };
  if (v.tier !== null) meta.tier = v.tier;
  if (v.rotation !== null) meta.rotation = v.rotation;
  if (envVarNameFor(parseKeyPath(v.path).name) !== v.name) meta.envVar = v.name;
  return meta;
}

function stepOf(p: PlannedVariable): SetupStepResult {
  const out: SetupStepResult = {
    name: p.variable.name,
    path: p.variable.path,
    action: p.step.action,
  };
  if (p.step.action === 'skip' || p.step.action === 'missing') out.reason = p.step.reason;
  return out;
}

/**
 * `vault` bounded to what setup of `manifest` in `env` may touch: read, list and write the key
 * paths of its project, read and list the shared (`meta/`) secrets it names. A call outside
 * is audited as denied through `vault.denied` and refused with FORBIDDEN. The parser already
 * refuses another project's path (parse.ts); this holds for a manifest built any other way.
 */
export function setupVault(manifest: Manifest, env: string, vault: SetupVault): SetupVault {
  const label = `the setup of project ${manifest.project}`;
  const hint = `A manifest names the secrets of its own project (project/${manifest.project}/...) and only reads shared meta/ ones (docs/manifest.md).`;
  const own = `project/${manifest.project}/*`;
  const shared = manifest.variables
    .filter((v) => !ownedBy(manifest, v) && v.path.startsWith('meta/'))
    .map((v) => v.path);
  const writes = new AccessPolicy({ allow: [own], envs: [env], caps: ['write'] }, label, hint);
  const reads = new AccessPolicy(
    { allow: [own, ...shared], envs: [env], caps: ['read', 'list'] },
    label,
    hint,
  );
  const deny: Denier = (a, t, r) => vault.denied(a, t, r);
  const check = (policy: AccessPolicy, cap: TokenCapability, target: Target) =>
    authorize(policy, cap, 'setup', target, deny);
  const bounded: SetupVault = {
    denied: deny,
    async list(o) {
      const prefix = o.prefix ?? `project/${manifest.project}`;
      await check(reads, 'list', { path: prefix, env: o.env ?? env, prefix: true });
      const items = await vault.list({ ...o, prefix });
      return items.filter((i) => reads.allowsPath(i.path) && reads.allowsEnv(i.env));
    },
    async info(path, e) {
      await check(reads, 'list', { path, env: e });
      return vault.info(path, e);
    },
    async get(path, e) {
      await check(reads, 'read', { path, env: e });
      return vault.get(path, e);
    },
    async getMany(requests) {
      for (const r of requests) await check(reads, 'read', { path: r.path, env: r.env });
      return vault.getMany(requests);
    },
    async set(path, e, value, o) {
      await check(writes, 'write', { path, env: e });
      return vault.set(path, e, value, o);
    },
  };
  if (vault.recordFileWrite !== undefined) {
    const record = vault.recordFileWrite.bind(vault);
    bounded.recordFileWrite = (file, secrets, via) =>
      record(
        file,
        secrets.filter((s) => reads.allowsPath(s.path)),
        via,
      );
  }
  return bounded;
}

/**
 * Refuses (ENV_NAME_REFUSED, audited as denied) a .env file that would set a variable coffer
 * refuses to inject (core/inject/names.ts), unless the manifest's `allow_env_names` or the
 * caller's `allowed` allows it: a .env file is read into programs' environments, as `coffer
 * run` sets them, so setup keeps the rule of run and `env pull`.
 */
async function assertWritableNames(
  manifest: Manifest,
  env: string,
  written: readonly PlannedVariable[],
  allowed: readonly string[],
  file: string,
  deny: Denier,
): Promise<void> {
  const vars = written.map((p) => ({ name: p.variable.name, path: p.variable.path }));
  const refused = refusedNames(vars, [...manifest.allowEnvNames, ...allowed]);
  if (refused.length === 0) return;
  await recordRefusedNames(refused, { action: 'setup', env, deny });
  const names = refused.map((r) => r.name);
  throw new CofferError(
    'ENV_NAME_REFUSED',
    `refused to write ${file} with ${refused.length === 1 ? 'the variable' : `${refused.length} variables`} ${refused.map((r) => `${r.name} (${r.path}: ${r.reason})`).join(', ')}; nothing was stored or written`,
    {
      hint: `These names change how programs load or run code. If this project really sets them, allow them in ${manifest.file}: allow_env_names: [${names.join(', ')}] (or --allow-env-name ${names.join(' --allow-env-name ')}); otherwise rename the variable. See docs/injection.md.`,
    },
  );
}

/** Runs setup for one environment; see the module comment. */
export async function runSetup(
  manifest: Manifest,
  unbounded: SetupVault,
  options: SetupOptions,
): Promise<SetupResult> {
  const { env } = options;
  const vault = setupVault(manifest, env, unbounded);
  const processEnv = childEnvironment(options.processEnv);
  const prefix = `project/${manifest.project}`;
  const listed = await vault.list({ prefix, env, includeDeleted: true });
  const byPath = new Map(listed.filter((s) => s.env === env).map((s) => [s.path, s]));
  // Variables stored outside the project (meta/...) are looked up one by one.
  for (const v of manifest.variables) {
    if (v.path.startsWith(`${prefix}/`) || byPath.has(v.path)) continue;
    try {
      byPath.set(v.path, await vault.info(v.path, env));
    } catch (err) {
      if (!(err instanceof CofferError && err.code === 'SECRET_NOT_FOUND')) throw err;
    }
  }
  const fileValues =
    options.dotenv === undefined ? {} : parseDotenv(readDotenvFile(options.dotenv));
  const names = (pred: (v: ManifestVariable) => boolean) =>
    new Set(manifest.variables.filter(pred).map((v) => v.name));
  const plan = planSetup(manifest, env, {
    inVault: names((v) => byPath.get(v.path)?.deletedAt === null),
    deletedInVault: names((v) => {
      const s = byPath.get(v.path);
      return s !== undefined && s.deletedAt !== null;
    }),
    inFile: names((v) => (fileValues[v.name] ?? '') !== ''),
    fileName: options.dotenv,
    processEnv: new Set(
      Object.entries(processEnv)
        .filter(([, value]) => value !== '')
        .map(([k]) => k),
    ),
    interactive: options.ask !== undefined,
    generateMissing: options.generateMissing === true,
  });
  if (options.dotenv !== undefined) {
    await assertWritableNames(
      manifest,
      env,
      plan.filter((p) => !['skip', 'missing'].includes(p.step.action)),
      options.allowEnvNames ?? [],
      options.dotenv,
      vault.denied,
    );
  }
  const missing = missingOf(plan);
  if (missing.length > 0) {
    throw new CofferError(
      'SETUP_INCOMPLETE',
      `setup of ${manifest.project} (${env}) is missing ${missing.length} variable${missing.length === 1 ? '' : 's'}, nothing was stored:\n${missing
        .map((p) => `  ${p.variable.name}: ${(p.step as { reason: string }).reason}`)
        .join('\n')}`,
      {
        hint: [
          'Export the variables named above',
          options.ask === undefined ? ', run on a terminal to be asked for them,' : '',
          ' or store them with `coffer set`',
          DEVELOPMENT_ENVIRONMENTS.includes(env)
            ? '.'
            : '; --generate-missing generates tier 1 secrets outside development.',
        ].join(''),
      },
    );
  }
  const steps = plan.map(stepOf);
  const result: SetupResult = {
    project: manifest.project,
    env,
    dryRun: options.dryRun === true,
    steps,
    dotenv: undefined,
    warning: undefined,
  };
  if (options.dryRun) return result;

  // A variable in both the vault and the .env file with different values: neither side is
  // changed (the "never change this key once set" rule of generate-if-absent).
  if (options.dotenv !== undefined) {
    const both = plan.filter(
      (p) => p.step.action === 'keep' && (fileValues[p.variable.name] ?? '') !== '',
    );
    const outcomes = await vault.getMany(both.map((p) => ({ path: p.variable.path, env })));
    const differ: string[] = [];
    for (const [i, p] of both.entries()) {
      const o = outcomes[i]!;
      if (!o.ok) throw o.error;
      if (!sameSecret(o.value.value, fileValues[p.variable.name]!)) {
        differ.push(
          `${p.variable.name} (${p.variable.path}, ${env}, version ${o.value.version}; ${options.dotenv})`,
        );
      }
    }
    if (differ.length > 0) {
      throw new CofferError(
        'VALUE_CONFLICT',
        `the vault and ${options.dotenv} hold different values for ${differ.join(', ')}; nothing was changed`,
        {
          hint: 'Decide which is right: remove the line from the .env file to take the vault value, or store the file value with `coffer set`.',
        },
      );
    }
  }

  // Every answer first: a prompt left empty or cancelled stores nothing, as without a terminal.
  const answers = new Map<string, string>();
  for (const p of plan) {
    if (p.step.action !== 'ask') continue;
    const value = await options.ask!(p.variable);
    if (value === '') {
      throw new CofferError(
        'EMPTY_VALUE',
        `nothing was given for ${p.variable.name} (${p.variable.path}); nothing was stored`,
        {
          hint: `Run coffer setup again and type the value, or export ${p.variable.name} before it.`,
        },
      );
    }
    answers.set(p.variable.name, value);
  }

  for (const p of plan) {
    const v = p.variable;
    const store = (value: string) =>
      vault.set(v.path, env, value, {
        description: v.description,
        metadata: metadataOf(v),
        ifVersion: 0,
      });
    switch (p.step.action) {
      case 'import':
        await store(fileValues[v.name]!);
        break;
      case 'from-env':
        await store(processEnv[p.step.variable]!);
        break;
      case 'ask':
        await store(answers.get(v.name)!);
        break;
      case 'generate':
        await ensureGenerated({
          spec: parseGeneratorSpec(p.step.spec),
          store: { vault, path: v.path, env, description: v.description, metadata: metadataOf(v) },
        });
        break;
      default:
        break;
    }
  }

  if (options.dotenv !== undefined) {
    const stored = plan.filter((p) => !['value', 'skip', 'missing'].includes(p.step.action));
    const outcomes = await vault.getMany(stored.map((p) => ({ path: p.variable.path, env })));
    const values: Record<string, string> = {};
    for (const [i, p] of stored.entries()) {
      const o = outcomes[i]!;
      if (!o.ok) throw o.error;
      values[p.variable.name] = o.value.value;
    }
    for (const p of plan) {
      if (p.step.action === 'value' && p.source.kind === 'value') {
        values[p.variable.name] = p.source.value;
      }
    }
    const w = writeDotenv(options.dotenv, values);
    await vault.recordFileWrite?.(
      options.dotenv,
      stored.map((p, i) => {
        const o = outcomes[i]!;
        return {
          path: p.variable.path,
          env,
          version: o.ok ? o.value.version : null,
          name: p.variable.name,
        };
      }),
      'setup',
    );
    result.dotenv = { file: options.dotenv, changes: w.changes, written: w.changes.length > 0 };
    result.warning = w.warning;
  }
  return result;
}
