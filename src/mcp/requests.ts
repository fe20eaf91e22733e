/**
 * Where request_secret's requests live (tools/tool.ts `RequestRegistry`):
 * - `localRequests`: this process's registry (core/requests/secret-requests.ts) and its page
 *   on 127.0.0.1 (request-page.ts); the value is stored and the .env file written here.
 * - `remoteRequests`: a `coffer serve` server (remote mode), through the client's request
 *   routes: the server serves the page (any instance on its database), stores the value as
 *   the token and audits every outcome; this process polls for the outcome and writes the
 *   .env file itself once the value is stored (the server cannot reach the agent's files).
 */
import type { SecretRequests, SecretRequestView } from '../core/requests/secret-requests.js';
import type { RequestPage } from './request-page.js';
import type { RequestRegistry } from './tools/tool.js';

export function localRequests(registry: SecretRequests, page: RequestPage): RequestRegistry {
  return {
    async open(input) {
      const { request, token } = registry.create(input);
      return { request, url: await page.urlFor(token) };
    },
    status: (id) => registry.status(id),
    wait: (id, signal) => registry.wait(id, signal),
    decline: (id, by) => registry.decline({ id }, by),
    writesEnv: true,
  };
}

/** The request routes of `coffer/client` that the remote registry needs. */
export interface RequestApi {
  createRequest(body: {
    keyPath: string;
    description: string;
    env?: string | undefined;
    writeEnv?: string | undefined;
  }): Promise<{ request: SecretRequestView; url: string }>;
  requestStatus(id: string): Promise<SecretRequestView>;
  declineRequest(id: string): Promise<SecretRequestView>;
}

const finished = (s: SecretRequestView['status']) =>
  s === 'stored' || s === 'declined' || s === 'expired' || s === 'failed';

/** A server's requests; `pollMs` between status reads while waiting. */
export function remoteRequests(api: RequestApi, pollMs = 500): RequestRegistry {
  return {
    open: (input) =>
      api.createRequest({
        keyPath: input.path,
        env: input.env,
        description: input.description,
        ...(input.writeEnv === undefined ? {} : { writeEnv: input.writeEnv }),
      }),
    status: (id) => api.requestStatus(id),
    async wait(id, signal) {
      for (;;) {
        const view = await api.requestStatus(id);
        if (finished(view.status) || signal?.aborted === true) return view;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          signal?.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              resolve();
            },
            { once: true },
          );
        });
      }
    },
    decline: (id) => api.declineRequest(id),
    writesEnv: false,
  };
}
