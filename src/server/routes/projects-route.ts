/**
 * `/v1/projects/{project}/secrets`: every live secret of a project in one environment, with
 * values (what `coffer run` and `env pull` inject in remote mode). Only the key paths the
 * token's globs allow are opened, and each one read gets its own audit record.
 */
import { parseEnvironment, parsePathPrefix } from '../../core/paths.js';
import { addRoute, type Routes } from '../route.js';
import { EnvQuery, ProjectSecrets } from '../schemas.js';

export function projectsRoutes(routes: Routes): void {
  addRoute(
    routes,
    {
      method: 'get',
      path: '/v1/projects/{project}/secrets',
      summary: "Read every secret of a project that the token's globs allow, with values",
      action: 'read_project',
      capability: 'read',
      reveals: true,
      query: EnvQuery,
      response: ProjectSecrets,
      // A prefix target: the policy check asks whether the token's globs could allow some
      // key path of the project (a `project/app/*` token reads project `app`), and the
      // handler below opens only the key paths they do allow.
      target: (params, query) => ({
        path: `project/${parsePathPrefix(`project/${params.project}`).group}`,
        env: parseEnvironment(query.env ?? 'dev'),
        prefix: true,
      }),
    },
    async ({ target, secrets }) => {
      const project = target.path!.slice('project/'.length);
      // The token's globs and environments bound what is opened and what a not-found
      // answer names (the service passes them to Vault.readProject).
      const items = await secrets.readProject(project, target.env!, 'api');
      return { project, env: target.env!, items };
    },
  );
}
