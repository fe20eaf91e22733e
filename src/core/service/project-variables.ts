/**
 * A project's variables as `coffer run` and `coffer env pull` give them to a program: its
 * secrets, then, during a rotation's grace window, each previous value under its `previous:`
 * name, unless a secret of the project already has that name (core/rotation/grace.ts). One
 * rule for both, through any SecretsService (a server leaves grace values out).
 */
import { CofferError } from '../errors.js';
import type { SecretsService } from './secrets-service.js';

export interface ProjectVariable {
  path: string;
  envVar: string;
  value: string;
}

export async function projectVariables(
  service: Pick<SecretsService, 'readProject' | 'graceValues'>,
  project: string,
  env: string,
  purpose: string,
): Promise<ProjectVariable[]> {
  const read: ProjectVariable[] = await service.readProject(project, env, purpose);
  const grace = (await service.graceValues?.(project, env)) ?? [];
  if (grace.length === 0) return read;
  const taken = new Set(read.map((s) => s.envVar));
  return [...read, ...grace.filter((x) => !taken.has(x.envVar))];
}

/**
 * Every value a masker must hide for `project` in `envs`: each environment's variables as
 * projectVariables gives them (a previous value is still live during its grace window, so it
 * is hidden too). One of several environments may hold nothing; none of them holding
 * anything is a mistyped project or environment, which would pass every value through
 * unmasked, so that is the error it is.
 */
export async function projectValues(
  service: Pick<SecretsService, 'readProject' | 'graceValues'>,
  project: string,
  envs: readonly string[],
  purpose: string,
): Promise<string[]> {
  const values: string[] = [];
  let notFound: CofferError | undefined;
  for (const env of envs) {
    try {
      for (const v of await projectVariables(service, project, env, purpose)) values.push(v.value);
    } catch (err) {
      const empty =
        err instanceof CofferError &&
        (err.code === 'PROJECT_NOT_FOUND' || err.code === 'ENVIRONMENT_NOT_FOUND');
      if (!empty) throw err;
      notFound ??= err;
    }
  }
  if (values.length === 0 && notFound !== undefined) throw notFound;
  return values;
}
