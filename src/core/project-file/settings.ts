/**
 * Which of a project file's settings apply to a command. The file is local configuration,
 * read from this machine's files: `allow_env_names` lets its project's secrets set variables
 * coffer otherwise refuses to inject (core/inject/names.ts), and applies only to the project
 * the file names; nothing in the vault can allow a name.
 */
import { parseEnvVarName } from '../paths.js';
import type { ProjectConfig } from './parse.js';

/**
 * The names allowed for `project` on this machine: `flags` (--allow-env-name, validated
 * here), plus `file`'s `allow_env_names` when that file is for the same project. No project
 * (undefined: a meta/ path, `run --dotenv` alone) gets only the flags.
 */
export function allowedEnvNamesFor(
  file: ProjectConfig | undefined,
  project: string | undefined,
  flags: readonly string[] = [],
): string[] {
  const names = flags.map((n) => parseEnvVarName(n));
  if (project !== undefined && file?.project === project && file.allowEnvNames) {
    names.push(...file.allowEnvNames);
  }
  return names;
}
