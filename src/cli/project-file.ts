/**
 * The project file of the directory coffer runs in: core/project-file finds and reads it
 * (`.coffer` or `coffer.yaml`, here or in a parent) and decides which of its settings apply;
 * this module only supplies the current directory.
 */
import {
  allowedEnvNamesFor,
  findProjectConfig as findFrom,
  type ProjectConfig,
  type ProjectlessFile,
  resolveProjectIn,
} from '../core/project-file/index.js';

export type { ProjectConfig, ProjectlessFile };

/** The nearest project file's settings from `start` (default: the current directory). */
export function findProjectConfig(
  start: string = process.cwd(),
  projectless: ProjectlessFile[] = [],
): ProjectConfig | undefined {
  return findFrom(start, projectless);
}

/** The project from --project, or the project file; a usage error when neither exists. */
export function resolveProject(flag: string | undefined): { project: string; env?: string } {
  const { project, file } = resolveProjectIn(process.cwd(), flag);
  return file ?? { project };
}

/**
 * The names allowed for `project` on this machine: the `--allow-env-name` flags, plus the
 * project file's `allow_env_names` when that file is for the same project.
 */
export function allowedEnvNames(project: string, flags: readonly string[] = []): string[] {
  let found: ProjectConfig | undefined;
  try {
    found = findProjectConfig();
  } catch {
    // A broken project file allows nothing; with --project it is not needed otherwise.
    found = undefined;
  }
  return allowedEnvNamesFor(found, project === '' ? undefined : project, flags);
}

/** commander's collector for a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
