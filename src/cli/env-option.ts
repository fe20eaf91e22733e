/**
 * The environment a command works in when it is given no --env: core's one rule
 * (core/environments/default-env.ts): COFFER_ENV, else the project file's `env`, else `dev`.
 * Every command takes its default environment from here, so `coffer set` and `coffer run` in
 * the same directory agree.
 */
import {
  chooseEnvironment,
  ENVIRONMENT_RULE,
  givenEnvironment,
} from '../core/environments/default-env.js';
import { findProjectConfig } from './project-file.js';

/** The `env` of the nearest project file (.coffer, coffer.yaml), if it sets one. */
function projectFileEnv(): string | undefined {
  return findProjectConfig()?.env;
}

/**
 * The environment for a command: --env, then COFFER_ENV, then the project file's `env`, then
 * `dev`. `fileEnv` reads the project file's `env` for a command that has already loaded it
 * (the manifest's `env:` for `setup` and `manifest check`).
 */
export function envOf(
  opts: { env?: string | undefined },
  fileEnv: () => string | undefined = projectFileEnv,
): string {
  return chooseEnvironment({
    flag: opts.env,
    variable: process.env.COFFER_ENV,
    projectFile: fileEnv,
  });
}

/** The same environment as given, not validated (for suggestions after a failure). */
export function givenEnvOf(opts: { env?: string | undefined }): string {
  return givenEnvironment({
    flag: opts.env,
    variable: process.env.COFFER_ENV,
    projectFile: () => {
      try {
        return projectFileEnv();
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
