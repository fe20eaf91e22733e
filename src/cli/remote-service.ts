/**
 * Remote mode: the CLI's SecretsService is a `coffer serve` server, through `coffer/client`
 * (client/service.ts). Loaded with a dynamic import only when COFFER_URL is set, so local
 * commands never pay for it.
 */

import { type CofferClient, createClient } from '../client/client.js';
import { clientSecretsService } from '../client/service.js';
import type { FetchFunction } from '../client/transport.js';
import { CofferError } from '../core/errors.js';
import { projectOfPath } from '../core/project-file/index.js';
import type { SecretsService } from '../core/service/secrets-service.js';
import { envForProject } from './env-option.js';
import { nodeFetch } from './node-fetch.js';

/** The service for COFFER_URL and COFFER_TOKEN (COFFER_INSECURE_HTTP=1 allows plain http). */
export function openRemoteService(
  env: NodeJS.ProcessEnv = process.env,
  fetch: FetchFunction = nodeFetch,
): SecretsService {
  return openRemote(env, fetch).service;
}

/**
 * The service and the client itself (for `coffer mcp`: its request routes), sending `agent`
 * as the X-Coffer-Agent label of every request.
 */
export function openRemote(
  env: NodeJS.ProcessEnv = process.env,
  fetch: FetchFunction = nodeFetch,
  agent?: string,
): { service: SecretsService; client: CofferClient } {
  const token = env.COFFER_TOKEN ?? '';
  if (token === '') {
    throw new CofferError('UNAUTHENTICATED', 'COFFER_URL is set but COFFER_TOKEN is not', {
      hint: 'Set COFFER_TOKEN to a token from `coffer token create`, or unset COFFER_URL to use the local vault.',
    });
  }
  const client = createClient({
    url: env.COFFER_URL ?? '',
    token,
    fetch,
    insecureHttp: env.COFFER_INSECURE_HTTP === '1',
    ...(agent === undefined ? {} : { agent }),
  });
  // Without --env, `verify` checks the CLI's default environment for the secret's project
  // (COFFER_ENV, else the project file's env when the file is that project's, else dev).
  const envFor = envForProject({});
  return {
    service: clientSecretsService(client, { defaultEnv: (path) => envFor(projectOfPath(path)) }),
    client,
  };
}
