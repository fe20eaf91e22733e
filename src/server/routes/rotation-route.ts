/**
 * `GET /v1/rotation?prefix=project/P&env=E&dueWithin=30d`: the rotation status
 * (core/rotation/status.ts) of the secrets the token's globs and environments allow: names,
 * dates and policies, never a value. The `list` capability, as listing secrets.
 */
import { authorize } from '../../core/access/policy.js';
import { parseEnvironment, parsePathPrefix } from '../../core/paths.js';
import { parseDuration } from '../../core/rotation/duration.js';
import { rotationStatus } from '../../core/rotation/status.js';
import { addRoute, type Routes } from '../route.js';
import { RotationQuery, RotationStatus } from '../schemas.js';

export function rotationRoutes(routes: Routes): void {
  addRoute(
    routes,
    {
      method: 'get',
      path: '/v1/rotation',
      summary:
        'Rotation status (overdue, due soon, in grace, compromised) of the secrets the token may list',
      action: 'rotation_status',
      capability: 'list',
      query: RotationQuery,
      response: RotationStatus,
      target: (_params, query) => ({
        env: query.env === undefined ? undefined : parseEnvironment(query.env),
      }),
    },
    async ({ query, target, policy, vault, c }) => {
      const dueWithinMs = parseDuration(query.dueWithin ?? '30d', 'dueWithin');
      const prefix = query.prefix === undefined ? undefined : parsePathPrefix(query.prefix);
      if (prefix?.group !== undefined) {
        await authorize(
          policy,
          'list',
          'rotation_status',
          { path: `${prefix.scope}/${prefix.group}`, env: target.env, prefix: true },
          c.get('deny'),
        );
      }
      const report = await rotationStatus(vault, {
        prefix,
        env: target.env,
        dueWithinMs,
        allows: (path, env) => policy.allowsPath(path) && policy.allowsEnv(env),
      });
      return report;
    },
  );
}
