/**
 * Which of a project file's settings apply to a command. One rule for both settings: they
 * belong to the project the file names, and apply only when the project in use is that
 * project, whether it came from the file itself or from `--project` (or a `project/NAME/`
 * key path) naming the same one. A command on another project ignores the file's `env` and
 * its `allow_env_names` alike: `coffer run --project other` in this directory reads other's
 * `dev` (or --env / COFFER_ENV), not this project's environment.
 *
 * A command that works on no project (a `meta/` path, a whole-vault `list`, `run --dotenv`
 * without --project) works in the directory's: the file's `env` is its default environment,
 * as before. It gets no allowed names, which are for the file's project's secrets only.
 *
 * `--env` and COFFER_ENV always win over the file's `env` (core/environments/default-env.ts).
 * `allow_env_names` is local configuration, read from this machine's files: it lets the
 * project's secrets set variables coffer otherwise refuses to inject (core/inject/names.ts);
 * nothing in the vault can allow a name.
 */
import { isValidSegment, parseEnvVarName } from '../paths.js';
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

/**
 * The file's `env` for a command working on `project`: when the file is that project's, or
 * when the command names no project (undefined). A command on another project gets none.
 */
export function projectFileEnvFor(
  file: ProjectConfig | undefined,
  project: string | undefined,
): string | undefined {
  if (file === undefined) return undefined;
  return project === undefined || project === file.project ? file.env : undefined;
}

/**
 * The project a key path or list prefix as typed names (`project/NAME` or `project/NAME/...`),
 * or undefined for a `meta/` path and for input that is not valid (its own error, with a
 * suggestion, comes later).
 */
export function projectOfPath(input: string): string | undefined {
  const m = /^project\/([^/]+)(?:\/|$)/.exec(input);
  return m && isValidSegment(m[1]!) ? m[1] : undefined;
}
