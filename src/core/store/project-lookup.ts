/**
 * What to say when a project (or one of its environments) has nothing to read. `coffer run`,
 * `env pull` and MCP `write_env` read a whole project in one environment; a mistyped project
 * (`--project consilo`) or environment (`--env production` for secrets under `prod`) used to
 * read nothing and succeed, starting a program without its secrets. They are refused instead
 * (not found, exit 3), naming what does exist and the closest match.
 *
 * Callers pass only the secrets the asker may see (a token's or an MCP server's globs and
 * environments), so a refusal never names a project or environment outside its policy. Only
 * names: no value, no description.
 */
import { CofferError } from '../errors.js';
import { closestMatch, nameList } from '../suggest.js';

/** A live secret's address, as listed. */
export interface SecretAddress {
  readonly path: string;
  readonly env: string;
}

/**
 * The error for a read of `project` in `env` that found no live secret, given the live
 * secrets of every project and environment the asker may see: ENVIRONMENT_NOT_FOUND when the
 * project has secrets in other environments, PROJECT_NOT_FOUND otherwise.
 */
export function projectNotFound(
  project: string,
  env: string,
  visible: readonly SecretAddress[],
): CofferError {
  const envsByProject = new Map<string, Set<string>>();
  for (const s of visible) {
    const [scope, group] = s.path.split('/');
    if (scope !== 'project' || group === undefined) continue;
    const envs = envsByProject.get(group) ?? new Set<string>();
    envs.add(s.env);
    envsByProject.set(group, envs);
  }
  const envs = envsByProject.get(project);
  if (envs !== undefined) {
    const names = [...envs].sort();
    const near = closestMatch(env, names);
    return new CofferError(
      'ENVIRONMENT_NOT_FOUND',
      `project ${project} has no secrets in environment ${env}${near ? `; did you mean ${near}?` : ''} ` +
        `(its environments: ${nameList(names)})`,
      {
        hint: near
          ? `Pass --env ${near} (or set COFFER_ENV, or env= in the project file).`
          : `Pass --env ${names[0]} (or set COFFER_ENV, or env= in the project file); to start environment ${env}, store a secret in it with \`coffer set project/${project}/NAME --env ${env}\`.`,
        retryWith: { input: 'env', given: env, suggested: near, choices: names },
      },
    );
  }
  const projects = [...envsByProject.keys()].sort();
  if (projects.length === 0) {
    return new CofferError(
      'PROJECT_NOT_FOUND',
      `no secrets for project ${project} in environment ${env}: there are no project secrets yet`,
      { hint: `Store one first: \`coffer set project/${project}/NAME --env ${env}\`.` },
    );
  }
  const near = closestMatch(project, projects);
  return new CofferError(
    'PROJECT_NOT_FOUND',
    `no project ${project} (in any environment)${near ? `; did you mean ${near}?` : ''} ` +
      `(projects: ${nameList(projects)})`,
    {
      hint: `Pass --project ${near ?? projects[0]}, or fix project= in the .coffer file; \`coffer list project\` lists every secret.`,
      retryWith: { input: 'project', given: project, suggested: near, choices: projects },
    },
  );
}
