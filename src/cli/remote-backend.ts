/**
 * Remote mode: the CLI's secret commands against `coffer serve`, through `coffer/client`.
 * Loaded with a dynamic import only when COFFER_URL is set, so local commands never pay
 * for it. The server does the auditing (as the token's name); `purpose` is not sent.
 *
 * What differs from local mode, because the HTTP API has no route for it:
 * - `verify` needs a path (`--all` checks the whole vault: run it on the server), and
 *   without --env it checks the default environment, not every one;
 * - `list --all-envs` is refused: the API lists one environment at a time;
 * - `audit` pages through the log from the start to show the newest records.
 */

import { type CofferClient, createClient } from '../client/client.js';
import { CofferError } from '../core/errors.js';
import { parseKeyPath } from '../core/paths.js';
import type { AuditRecord } from '../core/store/storage.js';
import type { ReadOutcome } from '../core/store/vault.js';
import { notInRemoteMode, type SecretsBackend } from './backend.js';
import { envOf } from './env-option.js';
import { nodeFetch } from './node-fetch.js';

const AUDIT_PAGE = 1000;

/** The backend for COFFER_URL and COFFER_TOKEN (COFFER_INSECURE_HTTP=1 allows plain http). */
export function openRemoteBackend(env: NodeJS.ProcessEnv = process.env): SecretsBackend {
  const token = env.COFFER_TOKEN ?? '';
  if (token === '') {
    throw new CofferError('UNAUTHENTICATED', 'COFFER_URL is set but COFFER_TOKEN is not', {
      hint: 'Set COFFER_TOKEN to a token from `coffer token create`, or unset COFFER_URL to use the local vault.',
    });
  }
  const client = createClient({
    url: env.COFFER_URL ?? '',
    token,
    fetch: nodeFetch,
    insecureHttp: env.COFFER_INSECURE_HTTP === '1',
  });
  return remoteBackend(client);
}

/** A backend that sends every operation to the server behind `client`. */
export function remoteBackend(client: CofferClient): SecretsBackend {
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
    get: (path, env, options) => client.getSecret(path, { env, version: options.version }),
    // The API reads one secret per request; each is audited by the server.
    readMany: (requests) =>
      Promise.all(
        requests.map((r) =>
          client.getSecret(r.path, { env: r.env, version: r.version }).then(
            (value): ReadOutcome => ({ ok: true, value }),
            (error: unknown): ReadOutcome => ({ ok: false, error }),
          ),
        ),
      ),
    set: (path, env, value, options) => client.setSecret(path, value, { env, ...options }),
    list: (options) => {
      if (options.env === undefined) throw notInRemoteMode('list --all-envs');
      return client.listSecrets(options);
    },
    info,
    history: async (path, env) => {
      const { versions } = await client.history(path, { env });
      return { secret: await info(path, env), versions };
    },
    readProject: (project, env) => client.readProject(project, { env }),
    verify: (path, env) => {
      if (path === undefined) throw notInRemoteMode('verify --all');
      return client.verify(path, { env: env ?? envOf({}) });
    },
    audit: async ({ limit = 100, path }) => {
      // Walk the log in seq order and keep the newest `limit`: "after seq N" is the one
      // paging the API defines, so this works however the server orders an unpaged read.
      let newest: AuditRecord[] = [];
      let after = 0;
      for (;;) {
        const page = await client.audit({ afterSeq: after, limit: AUDIT_PAGE, path });
        const last = page.at(-1);
        if (last === undefined || last.seq <= after) break;
        newest = [...newest, ...page].slice(-limit);
        after = last.seq;
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
    close: async () => {},
  };
}
