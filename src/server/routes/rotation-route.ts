/**
 * Rotation and leak routes, each a call on the request's SecretsService (core rules):
 *
 * - `GET /v1/rotation?prefix=project/P&env=E&dueWithin=30d`: the rotation status
 *   (core/rotation/status.ts) of the secrets the token's globs and environments allow:
 *   names, dates and policies, never a value. The `list` capability, as listing secrets.
 * - `POST /v1/incidents/{scope}/{group}/{name}?env=E` `{where}`: opens (or resumes) an
 *   incident on a leaked secret (core/incident), as MCP `report_leak` does; `write`, as
 *   it changes what `rotation status` says. Nothing closes one over HTTP.
 * - `POST /v1/file-writes` `{file, via, secrets}`: a client in remote mode (`coffer env
 *   pull`, `inject`, `setup`, MCP `write_env`, ...) says which secrets it wrote into which
 *   file, so `rotate` and `incident` can list the stale places: audited here as the
 *   token, one `file_write` record per secret the token may read (names, never values).
 */
import { isAbsolute } from 'node:path';
import { CofferError } from '../../core/errors.js';
import { parseEnvironment, parsePathPrefix } from '../../core/paths.js';
import { parseDuration } from '../../core/rotation/duration.js';
import { addRoute, type Routes } from '../route.js';
import {
  EnvQuery,
  FileWriteBody,
  FileWriteRecorded,
  LeakBody,
  LeakOpened,
  NoQuery,
  RotationQuery,
  RotationStatus,
} from '../schemas.js';
import { keyTarget } from './secrets-route.js';

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

  addRoute(
    routes,
    {
      method: 'post',
      path: '/v1/incidents/{scope}/{group}/{name}',
      summary: 'Open (or resume) an incident on a leaked secret: it is marked compromised',
      action: 'report_leak',
      capability: 'write',
      query: EnvQuery,
      body: LeakBody,
      response: LeakOpened,
      status: 201,
      target: (params, query) =>
        keyTarget(`${params.scope}/${params.group}/${params.name}`, query.env),
    },
    async ({ target, body, secrets }) => {
      const r = await secrets.reportLeak!(target.path!, target.env!, body.where);
      return { incident: r.id, path: target.path!, env: target.env!, resumed: r.resumed };
    },
  );
  addRoute(
    routes,
    {
      method: 'post',
      path: '/v1/file-writes',
      summary:
        'Record which secrets a client wrote into a file (names only), for rotate and incident',
      action: 'file_write',
      capability: 'read',
      query: NoQuery,
      body: FileWriteBody,
      response: FileWriteRecorded,
      status: 201,
    },
    async ({ body, secrets }) => {
      // The client's file: only an absolute path means the same file on the server's side.
      if (!isAbsolute(body.file))
        throw new CofferError('INVALID_ARGUMENT', 'file: an absolute path on the client');
      const recorded = await secrets.recordFileWrite!(body.file, body.secrets, body.via);
      return { recorded };
    },
  );
}
