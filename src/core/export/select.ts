/**
 * Which of a project's variables leave the vault (`coffer export`, `coffer sync`), and with
 * which values: one rule for every format and target.
 *
 * - A secret marked local-only (vault metadata `localOnly`, or `local_only: true` for its
 *   path or variable in the project's coffer.yaml) is never exported or synced; it is listed
 *   in `excluded` by name, never by value.
 * - A derived value made of a local-only secret is left out too (it would carry that secret
 *   away), as is one whose inputs' local-only flag the caller may not read.
 * - A derived value (a stored value that is a `coffer://` reference or holds `{{ coffer://... }}`
 *   templates) is resolved, each reference read through the vault (audited), as `coffer run`
 *   and `env pull` resolve it (references/resolve.ts: resolveDerived), so a target gets the
 *   value a program started by `coffer run` would see.
 * - A variable whose name changes how programs load or run code (`NODE_OPTIONS`, `LD_*`, ...:
 *   inject/names.ts) stops the whole export or sync before anything is written or pushed,
 *   unless the operator allowed that name on this machine (`--allow-env-name`, the project
 *   file), the same rule as `coffer run` and the .env writers: an exported .env file, a
 *   shell script, a Kubernetes Secret or a deploy target's variables all end up in some
 *   program's environment. Local-only secrets, which never leave, are not checked. Each
 *   refused variable is audited as denied (`export` or `sync`) when the caller gives `deny`.
 * - Variables are ordered by name, so output and dry runs are stable.
 */

import type { Denier } from '../access/policy.js';
import { CofferError } from '../errors.js';
import { type AllowedNames, assertInjectableNamesAudited } from '../inject/check.js';
import { isDerived, referenceKey, references } from '../references/reference.js';
import { type ReferenceReader, resolveDerived } from '../references/resolve.js';
import type { ProjectSecret } from '../store/vault-types.js';
import type { ExportVariable } from './formats.js';

export interface ExcludedVariable {
  name: string;
  path: string;
  reason: string;
}

export interface ExportSelection {
  variables: ExportVariable[];
  excluded: ExcludedVariable[];
}

export interface SelectOptions {
  /** The environment, for references that name none. */
  env: string;
  /** Paths and variable names the manifest marks local-only. */
  manifestLocalOnly?: ReadonlySet<string> | undefined;
  /** Reads referenced secrets; without it, derived values are exported as stored. */
  reader?: ExportReader | undefined;
  /**
   * Refused names the operator allowed on this machine (`--allow-env-name`, the project
   * file's `allow_env_names`); never anything read from the vault. Default: none.
   */
  allowNames?: AllowedNames | undefined;
  /** What a refusal says was refused (`export`, `sync`): "refused to VERB the variable ...". */
  verb?: string | undefined;
  /**
   * Audits each refused name as denied, as a `verb` record in `env` (inject/check.ts:
   * recordRefusedNames); without it nothing is recorded.
   */
  deny?: Denier | undefined;
}

/** What resolving derived values for an export needs: their inputs' values and flags. */
export interface ExportReader extends ReferenceReader {
  /** A secret's metadata: whether it is local-only. */
  info(path: string, env: string): Promise<{ localOnly: boolean }>;
}

/**
 * Why a derived value may not leave the vault (one of its inputs is local-only, or its flag
 * cannot be read), or undefined. Inputs that do not exist or do not parse are left to
 * resolveDerived, which reports them.
 */
async function localOnlyInput(
  value: string,
  options: SelectOptions & { reader: ExportReader },
  flags: Map<string, Promise<boolean | undefined>>,
): Promise<string | undefined> {
  let refs: ReturnType<typeof references>;
  try {
    refs = references(value);
  } catch {
    return undefined;
  }
  for (const ref of refs) {
    const env = ref.env ?? options.env;
    if (options.manifestLocalOnly?.has(ref.path)) {
      return `refers to ${ref.path}, local-only (coffer.yaml)`;
    }
    const key = referenceKey(ref.path, env);
    let flag = flags.get(key);
    if (flag === undefined) {
      flag = options.reader.info(ref.path, env).then(
        (i) => i.localOnly,
        (err: unknown) => {
          if (!(err instanceof CofferError)) throw err;
          if (err.code === 'SECRET_NOT_FOUND' || err.code === 'SECRET_DELETED') return false;
          return undefined;
        },
      );
      flags.set(key, flag);
    }
    const localOnly = await flag;
    if (localOnly === true) return `refers to ${ref.path} (${env}), local-only (vault metadata)`;
    if (localOnly === undefined) {
      return `refers to ${ref.path} (${env}), whose local-only flag cannot be read here`;
    }
  }
  return undefined;
}

/** The variables to export, local-only ones left out, derived values resolved. */
export async function selectExport(
  secrets: readonly Pick<ProjectSecret, 'path' | 'envVar' | 'value' | 'localOnly'>[],
  options: SelectOptions,
): Promise<ExportSelection> {
  const excluded: ExcludedVariable[] = [];
  const kept: ExportVariable[] = [];
  const manifest = options.manifestLocalOnly ?? new Set<string>();
  for (const s of secrets) {
    if (s.localOnly) {
      excluded.push({ name: s.envVar, path: s.path, reason: 'local-only (vault metadata)' });
    } else if (manifest.has(s.path) || manifest.has(s.envVar)) {
      excluded.push({ name: s.envVar, path: s.path, reason: 'local-only (coffer.yaml)' });
    } else {
      kept.push({ name: s.envVar, path: s.path, value: s.value });
    }
  }
  // The same rules as run and .env files: one secret per variable, and no name that makes a
  // program load or run code unless allowed here. Checked before any referenced value is read.
  const verb = options.verb ?? 'export';
  await assertInjectableNamesAudited(
    kept,
    options.allowNames ?? [],
    options.deny && { action: verb, env: options.env, deny: options.deny },
    verb,
  );
  let leaving = kept;
  const reader = options.reader;
  if (reader !== undefined) {
    leaving = [];
    const flags = new Map<string, Promise<boolean | undefined>>();
    for (const v of kept) {
      const why = isDerived(v.value)
        ? await localOnlyInput(v.value, { ...options, reader }, flags)
        : undefined;
      if (why === undefined) leaving.push(v);
      else excluded.push({ name: v.name, path: v.path, reason: why });
    }
  }
  const variables =
    reader === undefined ? leaving : await resolveDerived(reader, leaving, options.env);
  variables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  excluded.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { variables, excluded };
}
