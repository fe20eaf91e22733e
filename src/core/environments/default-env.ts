/**
 * The environment a command works in when it names none: one rule for every command run in a
 * project directory (each CLI command, `coffer mcp`, the CLI in remote mode), so that a secret
 * stored with `coffer set` there is the one `coffer run` there injects.
 *
 *   1. the command's own choice (`--env prod`);
 *   2. COFFER_ENV;
 *   3. the project file's `env` (`env=prod` in `.coffer`, `env: prod` in `coffer.yaml`), when
 *      the command works on the file's project or names none (core/project-file/settings.ts);
 *   4. `dev`.
 *
 * The variable wins over the file because it is set for one shell or one deploy, where the
 * file is committed for everyone. The front end reads the file (core does no such I/O here);
 * it passes a function so that a command given `--env` never reads it.
 */
import { parseEnvironment } from '../paths.js';

/** The environment of a command that names none and finds no other. */
export const FALLBACK_ENVIRONMENT = 'dev';

export interface EnvironmentSources {
  /** The command's own choice (`--env`, an MCP call's `env`). */
  flag?: string | undefined;
  /** COFFER_ENV. */
  variable?: string | undefined;
  /** The project file's `env`, read only when neither of the above is given. */
  projectFile?: (() => string | undefined) | undefined;
}

/** The environment as given (not yet validated): flag, COFFER_ENV, project file, `dev`. */
export function givenEnvironment(s: EnvironmentSources): string {
  return s.flag ?? s.variable ?? s.projectFile?.() ?? FALLBACK_ENVIRONMENT;
}

/** The validated environment by the rule above (INVALID_ENV for a bad name from any source). */
export function chooseEnvironment(s: EnvironmentSources): string {
  return parseEnvironment(givenEnvironment(s));
}

/** The rule in words, for `--env` help texts: the same order as chooseEnvironment. */
export const ENVIRONMENT_RULE =
  "COFFER_ENV, else the project file's env if the project is the file's, else dev";
