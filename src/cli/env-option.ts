/**
 * The environment a command works in when it is given no --env: core's one rule
 * (core/environments/default-env.ts): COFFER_ENV, else the project file's `env`, else `dev`.
 * The file's `env` counts only for the file's own project (core/project-file/settings.ts):
 * a command on another project (`--project other`, `project/other/...`) ignores it. Every
 * command takes its default environment from here, so `coffer set` and `coffer run` in the
 * same directory agree.
 */
import {
  chooseEnvironment,
  ENVIRONMENT_RULE,
  givenEnvironment,
} from '../core/environments/default-env.js';
import { projectFileEnvFor } from '../core/project-file/index.js';
import { findProjectConfig, type ProjectConfig } from './project-file.js';

/** The `env` of the nearest project file (.coffer, coffer.yaml) when it applies to `project`. */
function projectFileEnv(project: string | undefined): string | undefined {
  return projectFileEnvFor(findProjectConfig(), project);
}

/**
 * The environment for a command working on `project` (undefined: it names none, and works in
 * the directory's): --env, then COFFER_ENV, then the project file's `env` when the file is for
 * that project, then `dev`.
 */
export function envOf(opts: { env?: string | undefined }, project?: string): string {
  return envWithFile(opts, () => projectFileEnv(project));
}

/**
 * The same rule, with `fileEnv` reading the file's `env` for a command that has already
 * loaded it (the manifest's `env:` for `setup` and `manifest check`).
 */
export function envWithFile(
  opts: { env?: string | undefined },
  fileEnv: () => string | undefined,
): string {
  return chooseEnvironment({
    flag: opts.env,
    variable: process.env.COFFER_ENV,
    projectFile: fileEnv,
  });
}

/**
 * The rule as a function of the project, for a front end that serves calls on many projects
 * (`coffer mcp`, the client of remote mode): each call gets the environment `envOf` would give
 * a command on its project, so a call on another project never gets this directory's `env`.
 * The project file is read at the first call that needs it, then kept.
 */
export function envForProject(opts: {
  env?: string | undefined;
}): (project: string | undefined) => string {
  let file: { found: ProjectConfig | undefined } | undefined;
  return (project) =>
    envWithFile(opts, () => {
      file ??= { found: findProjectConfig() };
      return projectFileEnvFor(file.found, project);
    });
}

/** The same environment as given, not validated (for suggestions after a failure). */
export function givenEnvOf(opts: { env?: string | undefined }, project?: string): string {
  return givenEnvironment({
    flag: opts.env,
    variable: process.env.COFFER_ENV,
    projectFile: () => {
      try {
        return projectFileEnv(project);
      } catch {
        return undefined;
      }
    },
  });
}

/** The help of an `--env` option that defaults by the rule. */
export function envHelp(what = 'environment'): string {
  return `${what} (default: ${ENVIRONMENT_RULE})`;
}
