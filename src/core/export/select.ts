/**
 * Which of a project's variables leave the vault (`coffer export`, `coffer sync`), and with
 * which values: one rule for every format and target.
 *
 * - A secret marked local-only (vault metadata `localOnly`, or `local_only: true` for its
 *   path or variable in the project's coffer.yaml) is never exported or synced; it is listed
 *   in `excluded` by name, never by value.
 * - A derived value (a stored value that is a `coffer://` reference or holds `{{ coffer://... }}`
 *   templates) is resolved, each reference read through the vault (audited), as `coffer run`
 *   and `env pull` resolve it (references/resolve.ts: resolveDerived), so a target gets the
 *   value a program started by `coffer run` would see.
 * - Variables are ordered by name, so output and dry runs are stable.
 */

import { assertOneSecretPerVariable } from '../inject/check.js';
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
  reader?: ReferenceReader | undefined;
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
  // The same rule as run and .env files: one secret per variable.
  assertOneSecretPerVariable(kept);
  const variables =
    options.reader === undefined ? kept : await resolveDerived(options.reader, kept, options.env);
  variables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  excluded.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { variables, excluded };
}
