/**
 * A `coffer serve` server as a SecretsService (core/service/secrets-service.ts): remote mode
 * of the CLI and of `coffer mcp` is this implementation, not a second code path.
 *
 * The server audits every request as its token's name and applies the token's policy; the
 * actor and a `purpose` are not sent. What differs from the local vault, because the HTTP
 * API has no route for it:
 * - `verify` needs a path (the whole vault is checked on the server), and without an
 *   environment it checks `defaultEnv`, not every one;
 * - `list` needs an environment: the API lists one at a time;
 * - `info` and `history` find the secret by listing its group (deleted ones included);
 * - `audit` pages through the log from the start to keep the newest records;
 * - `rotationStatus` cannot move the clock (`now` is the server's);
 * - `denied` writes nothing: a server takes no audit records from its clients;
 * - `checkSet` asks the server's check-set route, and passes when the server is older than
 *   that route (404 ROUTE_NOT_FOUND): the set itself is still refused by the server.
 */
import { resolve } from 'node:path';
import { CofferError, isCofferError } from '../core/errors.js';
import { parseKeyPath } from '../core/paths.js';
import { formatDuration } from '../core/rotation/duration.js';
import { notInRemoteMode, type SecretsService } from '../core/service/secrets-service.js';
import type { ShownAuditRecord } from '../core/store/storage.js';
import type { ReadOutcome } from '../core/store/vault-types.js';
import type { CofferClient } from './client.js';

export type { SecretsService } from '../core/service/secrets-service.js';

const AUDIT_PAGE = 1000;

export interface ClientServiceOptions {
  /**
   * The environment `verify` checks when none is given (default `dev`), asked at the call
   * with the key path it checks (the CLI gives the default of that path's project).
   */
  defaultEnv?: ((path: string) => string) | undefined;
  /** What `close` does (default: nothing). */
  close?: (() => Promise<void>) | undefined;
}

/** A SecretsService that sends every operation to the server behind `client`. */
export function clientSecretsService(
  client: CofferClient,
  options: ClientServiceOptions = {},
): SecretsService {
  const info = async (path: string, env: string) => {
    const key = parseKeyPath(path);
    const found = (
      await client.listSecrets({ prefix: `${key.scope}/${key.group}`, env, includeDeleted: true })
    ).find((s) => s.path === key.path);
    if (found === undefined) {
      throw new CofferError('SECRET_NOT_FOUND', `no secret ${key.path} in environment ${env}`);
    }
    return found;
  };
  return {
    remote: true,
    get: (path, env, o = {}) => client.getSecret(path, { env, version: o.version }),
    // The API reads one secret per request; each is audited by the server.
    getMany: (requests) =>
      Promise.all(
        requests.map((r) =>
          client.getSecret(r.path, { env: r.env, version: r.version }).then(
            (value): ReadOutcome => ({ ok: true, value }),
            (error: unknown): ReadOutcome => ({ ok: false, error }),
          ),
        ),
      ),
    set: (path, env, value, o = {}) =>
      client.setSecret(path, value, {
        env,
        description: o.description,
        ifVersion: o.ifVersion,
        ...(o.allowEmpty === true ? { allowEmpty: true } : {}),
        ...(o.metadata !== undefined ? { metadata: o.metadata } : {}),
      }),
    checkSet: async (path, env, o = {}) => {
      try {
        await client.checkSetSecret(path, {
          env,
          description: o.description,
          ifVersion: o.ifVersion,
        });
      } catch (err) {
        // A server without the check: the value is asked for, and the set is checked when
        // it arrives, as before the check existed.
        if (isCofferError(err) && err.code === 'ROUTE_NOT_FOUND') return;
        throw err;
      }
    },
    // Refused before any request (and before any await: the caller sees it at once).
    list: (o = {}) => {
      if (o.env === undefined) throw notInRemoteMode('list --all-envs');
      return client.listSecrets(o);
    },
    info,
    history: async (path, env) => {
      const { versions } = await client.history(path, { env });
      return { secret: await info(path, env), versions };
    },
    readProject: async (project, env, _purpose, within) => {
      const all = await client.readProject(project, { env });
      return within === undefined ? all : all.filter((s) => within(s.path, env));
    },
    verify: (path, env) => {
      if (path === undefined) throw notInRemoteMode('verify --all');
      return client.verify(path, { env: env ?? options.defaultEnv?.(path) ?? 'dev' });
    },
    audit: async ({ limit = 100, path } = {}) => {
      // Walk the log in seq order and keep the newest `limit`: "after seq N" is the one
      // paging the API defines, so this works however the server orders an unpaged read. A
      // page may be short, even empty, before the end: its cursor says where to go on.
      let newest: ShownAuditRecord[] = [];
      let after = 0;
      for (;;) {
        const page = await client.auditPage({ afterSeq: after, limit: AUDIT_PAGE, path });
        // Records at or before the cursor would be a server repeating itself.
        const fresh = page.items.filter((r) => r.seq > after);
        newest = [...newest, ...fresh].slice(-limit);
        if (page.nextAfterSeq === null) break;
        after = page.nextAfterSeq;
      }
      return newest;
    },
    auditVerify: async () => {
      const r = await client.auditVerify();
      return {
        ok: r.ok,
        records: r.checked,
        problem: r.firstBroken,
        ...(r.head !== undefined ? { head: r.head } : {}),
        acknowledged: r.acknowledged ?? [],
      };
    },
    rotationStatus: async (o = {}) => {
      const report = await client.rotationStatus({
        prefix:
          o.prefix === undefined
            ? undefined
            : o.prefix.group === undefined
              ? o.prefix.scope
              : `${o.prefix.scope}/${o.prefix.group}`,
        env: o.env,
        dueWithin: o.dueWithinMs === undefined ? undefined : formatDuration(o.dueWithinMs),
      });
      // A front end's own policy (MCP --allow, --env) narrows the token's answer further.
      const allows = o.allows;
      if (allows === undefined) return report;
      const items = report.items.filter((i) => allows(i.path, i.env));
      const counts = { ...report.counts };
      for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] = 0;
      for (const i of items) counts[i.state]++;
      return {
        ...report,
        items,
        counts,
        overdue: counts.overdue + counts.compromised,
        neverRotated: items.filter((i) => i.neverRotated).length,
      };
    },
    reportLeak: async (path, env, where) => {
      const r = await client.reportLeak(path, where, { env });
      return { id: r.incident, resumed: r.resumed };
    },
    recordFileWrite: (file, secrets, via) => client.recordFileWrite(resolve(file), secrets, via),
    denied: async () => {},
    close: options.close ?? (async () => {}),
  };
}
