/**
 * `/v1/secrets`: read (through the read batcher's group commit), write with check-and-set
 * (and the check of a write before its value is asked for), list (metadata only, filtered to
 * the token's paths and environments), delete, restore, history and verify. Every rule is the
 * vault's; this file maps HTTP to the SecretsService every front end uses (bound to the
 * request's token and policy), except reads, which go through the read batcher's
 * `Vault.getMany`, and delete and restore.
 */

import { parseEnvironment, parseKeyPath } from '../../core/paths.js';
import type { SecretMetadata } from '../../core/store/storage.js';
import type { ReadBatcher } from '../read-batcher.js';
import { addRoute, type Routes, type Target } from '../route.js';
import {
  CheckSetBody,
  Deleted,
  EnvQuery,
  GetQuery,
  History,
  ListQuery,
  Restored,
  SecretList,
  SecretValue,
  SetBody,
  SetChecked,
  SetResult,
  VerifyReport,
} from '../schemas.js';

/** The route of one secret, in OpenAPI form. */
export const SECRET_ROUTE = '/v1/secrets/{scope}/{group}/{name}';

/** The key path and environment of a request on `raw` (`scope/group/name`), env `dev` by default. */
export function keyTarget(raw: string, env: string | undefined): Target {
  return { path: parseKeyPath(raw).path, env: parseEnvironment(env ?? 'dev') };
}

/** The key path and environment of a `/v1/secrets/{scope}/{group}/{name}` request. */
function secretTarget(params: Record<string, string>, query: { env?: string | undefined }): Target {
  return keyTarget(`${params.scope}/${params.group}/${params.name}`, query.env);
}

/** Both fields of a target made by `secretTarget`. */
function keyOf(t: Target): { path: string; env: string } {
  return { path: t.path!, env: t.env! };
}

export function secretsRoutes(routes: Routes, batcher: ReadBatcher): void {
  addRoute(
    routes,
    {
      method: 'get',
      path: SECRET_ROUTE,
      summary: 'Read a secret (the latest or a given version); audited',
      action: 'get',
      capability: 'read',
      query: GetQuery,
      response: SecretValue,
      target: secretTarget,
      reveals: true,
    },
    ({ target, query, vault }) =>
      batcher.read({ ...keyOf(target), version: query.version, actor: vault.actor }),
  );

  addRoute(
    routes,
    {
      method: 'put',
      path: SECRET_ROUTE,
      summary: 'Store a new version (creating the secret), with optional check-and-set',
      action: 'set',
      capability: 'write',
      query: EnvQuery,
      body: SetBody,
      response: SetResult,
      target: secretTarget,
    },
    ({ target, body, secrets }) => {
      const { path, env } = keyOf(target);
      return secrets.set(path, env, body.value, {
        description: body.description,
        ifVersion: body.ifVersion,
        allowEmpty: body.allowEmpty,
        // A JSON body has no undefined fields: what was sent is what is set.
        metadata: body.metadata as Partial<Omit<SecretMetadata, 'description'>> | undefined,
      });
    },
  );

  // What `coffer set` on a terminal asks before the value is typed: would the stored secret
  // refuse this set whatever its value (a new secret without a description, a stale
  // ifVersion)? Authorized and refused as the set itself (action `set`, capability `write`,
  // the same path and environment); core audits the check as `check_set`, passed or refused.
  // It takes no value and tells a token nothing its set would not.
  addRoute(
    routes,
    {
      method: 'post',
      path: `${SECRET_ROUTE}/check-set`,
      summary:
        'Check a set before its value is sent: refused as the set would be whatever its value',
      action: 'set',
      capability: 'write',
      query: EnvQuery,
      body: CheckSetBody,
      response: SetChecked,
      target: secretTarget,
    },
    async ({ target, body, secrets }) => {
      const { path, env } = keyOf(target);
      await secrets.checkSet!(path, env, {
        description: body.description,
        ifVersion: body.ifVersion,
      });
      return { path, env, checked: true as const };
    },
  );

  addRoute(
    routes,
    {
      method: 'get',
      path: '/v1/secrets',
      summary:
        "List secrets (metadata, never values) that the token's globs and environments allow",
      action: 'list',
      capability: 'list',
      query: ListQuery,
      response: SecretList,
      target: (_params, query) => ({
        env: query.env === undefined ? undefined : parseEnvironment(query.env),
      }),
    },
    // The service checks a `scope/group` prefix too, and keeps only the key paths and
    // environments the token's policy allows.
    async ({ query, target, secrets }) => ({
      items: await secrets.list({
        prefix: query.prefix,
        env: target.env,
        includeDeleted: query.includeDeleted ?? false,
      }),
    }),
  );

  addRoute(
    routes,
    {
      method: 'delete',
      path: SECRET_ROUTE,
      summary: 'Delete a secret (soft: restore brings it back)',
      action: 'delete',
      capability: 'delete',
      query: EnvQuery,
      response: Deleted,
      target: secretTarget,
    },
    async ({ target, vault }) => {
      const { path, env } = await vault.delete(target.path!, target.env!);
      return { path, env, deleted: true as const };
    },
  );

  addRoute(
    routes,
    {
      method: 'post',
      path: `${SECRET_ROUTE}/restore`,
      summary: 'Restore a deleted secret',
      action: 'restore',
      capability: 'delete',
      query: EnvQuery,
      response: Restored,
      target: secretTarget,
    },
    async ({ target, vault }) => {
      const { path, env } = await vault.restore(target.path!, target.env!);
      return { path, env, restored: true as const };
    },
  );

  addRoute(
    routes,
    {
      method: 'get',
      path: `${SECRET_ROUTE}/history`,
      summary: 'The versions of a secret, without values',
      action: 'history',
      capability: 'list',
      query: EnvQuery,
      response: History,
      target: secretTarget,
    },
    async ({ target, secrets }) => {
      const { path, env } = keyOf(target);
      const { versions } = await secrets.history(path, env);
      return { path, env, versions };
    },
  );

  addRoute(
    routes,
    {
      method: 'get',
      path: `${SECRET_ROUTE}/verify`,
      summary: 'Decrypt and authenticate every version of a secret',
      action: 'verify',
      capability: 'read',
      query: EnvQuery,
      response: VerifyReport,
      target: secretTarget,
    },
    ({ target, secrets }) => secrets.verify(target.path!, target.env!),
  );
}
