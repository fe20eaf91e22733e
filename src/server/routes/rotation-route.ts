/**
 * `GET /v1/rotation?prefix=project/P&env=E&dueWithin=30d`: the rotation status
 * (core/rotation/status.ts) of the secrets the token's globs and environments allow: names,
 * dates and policies, never a value. The `list` capability, as listing secrets.
 */
import { parseEnvironment, parsePathPrefix } from '../../core/paths.js';
import { parseDuration } from '../../core/rotation/duration.js';
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
    // The service checks a `scope/group` prefix too, and reads only what the policy allows.
    ({ query, target, secrets }) =>
      secrets.rotationStatus({
        prefix: query.prefix === undefined ? undefined : parsePathPrefix(query.prefix),
        env: target.env,
        dueWithinMs: parseDuration(query.dueWithin ?? '30d', 'dueWithin'),
      }),
  );
}
