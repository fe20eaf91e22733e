/**
 * Secret requests in remote mode (`coffer mcp` against `coffer serve`): the agent's MCP
 * server opens a request through the API (`POST /v1/requests`, a token with `write` on the
 * key path), the user opens the one-time page `/r/{id}/{token}` that this server (or any
 * other instance on the same database) serves, and the agent polls `GET /v1/requests/{id}`.
 * Rules and state in core/requests/stored-requests.ts (shared through the store), the page
 * in core/requests/page.ts.
 *
 * The page: served only for the Host of the origin the request was made for (`--public-url`,
 * or the loopback address the agent reached; off loopback `--public-url` is required), so a DNS-rebinding name gets nothing; a POST must come
 * from that origin (Origin) and carry the request's CSRF field; every answer is no-store
 * with a CSP that allows no script and no third-party resource. The value goes to the vault
 * and is never logged, echoed or kept. A refusal of a valid link's page (wrong Host, Origin or
 * CSRF field) is audited (`request_page`, denied, as the request's actor); never the token.
 * Links that name no request count against the client address's failure budget, the API's
 * (core/requests/link-guesses.ts), and so does any other path under /r/: past it, 429 with
 * Retry-After, audited once per window.
 */
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { authorize } from '../../core/access/policy.js';
import { CofferError } from '../../core/errors.js';
import { parseDescription, parseEnvironment, parseKeyPath } from '../../core/paths.js';
import { LINK_PATH_PREFIX, LinkGuesses } from '../../core/requests/link-guesses.js';
import {
  esc,
  formValue,
  isRefusedValue,
  MAX_BODY,
  PAGE_HEADERS,
  page,
  requestForm,
} from '../../core/requests/page.js';
import { pageOrigin, type StoredSecretRequests } from '../../core/requests/stored-requests.js';
import type { AppEnv } from '../context.js';
import { errorResponse, shownHint, shownMessage } from '../error-response.js';
import { addRoute, type Routes } from '../route.js';
import {
  CreatedSecretRequest,
  NoQuery,
  SecretRequestBody,
  SecretRequestStatus,
} from '../schemas.js';

export interface RequestRouteOptions {
  /** The origin pages are served at (`https://coffer.example.com`); default: the request's. */
  publicUrl?: string | undefined;
  /** The failure budget of link lookups per client address (default: the API's, 10 per 60 s). */
  guesses?: LinkGuesses | undefined;
}

function send(c: Context<AppEnv>, status: number, html: string): Response {
  for (const [k, v] of Object.entries(PAGE_HEADERS)) c.header(k, v);
  return c.html(html, status as 200);
}

export function requestsRoutes(
  routes: Routes,
  requests: StoredSecretRequests,
  options: RequestRouteOptions = {},
): void {
  const publicOrigin =
    options.publicUrl === undefined ? undefined : new URL(options.publicUrl).origin;
  const guesses = options.guesses ?? new LinkGuesses(async () => undefined);

  addRoute(
    routes,
    {
      method: 'post',
      path: '/v1/requests',
      summary:
        'Open a request for a value only the user has: a one-time page (the url, shown once) where they give it; stored as this token',
      action: 'request_secret',
      capability: 'write',
      query: NoQuery,
      body: SecretRequestBody,
      response: CreatedSecretRequest,
      status: 201,
    },
    async ({ body, policy, vault: acting, c }) => {
      const { path } = parseKeyPath(body.keyPath);
      const env = parseEnvironment(body.env ?? 'dev');
      await authorize(policy, 'write', 'request_secret', { path, env }, c.get('deny'));
      const description = parseDescription(body.description, path);
      if (body.writeEnv !== undefined && !path.startsWith('project/')) {
        throw new CofferError('INVALID_ARGUMENT', 'writeEnv needs a project/ key path');
      }
      return requests.create({
        path,
        env,
        description,
        writeEnv: body.writeEnv,
        actor: acting.actor,
        tokenId: policy.token.id,
        origin: pageOrigin(publicOrigin, new URL(c.req.url)),
      });
    },
  );

  addRoute(
    routes,
    {
      method: 'get',
      path: '/v1/requests/{id}',
      summary: 'The state of a request this token made (never a value)',
      action: 'request_status',
      capability: 'write',
      query: NoQuery,
      response: SecretRequestStatus,
    },
    ({ c, params, policy }) => requests.status(params.id ?? '', policy.token.id, c.get('deny')),
  );

  addRoute(
    routes,
    {
      method: 'post',
      path: '/v1/requests/{id}/decline',
      summary: 'Withdraw a request this token made (the client declined to open the page)',
      action: 'request_decline',
      capability: 'write',
      query: NoQuery,
      response: SecretRequestStatus,
    },
    ({ c, params, policy }) =>
      requests.decline(params.id ?? '', policy.token.id, 'the client', c.get('deny')),
  );

  const failure = (c: Context<AppEnv>, err: unknown): Response => {
    if (err instanceof CofferError) {
      const status =
        err.code === 'REQUEST_NOT_FOUND'
          ? 404
          : err.code === 'REQUEST_CLOSED'
            ? 410
            : errorResponse(err, 'page').status;
      return send(
        c,
        status,
        page(
          'coffer',
          `<p class="err">${esc(shownMessage(err))}</p><p class="note">${esc(shownHint(err) ?? '')}</p>`,
        ),
      );
    }
    return send(c, 500, page('coffer', '<p class="err">Something went wrong.</p>'));
  };

  /** The answer to an address past its budget of links that name no request. */
  const tooMany = (c: Context<AppEnv>, retryAfter: number): Response => {
    c.header('Retry-After', String(retryAfter));
    return send(
      c,
      429,
      page(
        'coffer',
        `<p class="err">Too many links that name no request from this address; try again in ${retryAfter} s.</p>`,
      ),
    );
  };

  /** Audits a refusal of link `id`'s page (as its request's actor, with the client address). */
  const refuse = (c: Context<AppEnv>, id: string, token: string, reason: string) =>
    requests.refusePage(id, token, `${reason} (from ${c.get('address') ?? 'unknown'})`);

  /**
   * The request behind a link, if this Host is its page's; else an answer refusing it. The
   * lookup is within the address's budget of links that name no request (429 past it).
   */
  const located = async (c: Context<AppEnv>) => {
    const { id = '', token = '' } = c.req.param();
    const admitted = await guesses.admit(c.get('address') ?? 'unknown', () =>
      requests.peekLink(id, token),
    );
    if ('retryAfter' in admitted) return { refused: tooMany(c, admitted.retryAfter) };
    const found = admitted.value;
    if (c.req.header('host') !== new URL(found.origin).host) {
      await refuse(c, id, token, 'wrong Host header');
      return { refused: send(c, 421, page('coffer', '<p class="err">Wrong host.</p>')) };
    }
    return { id, token, origin: found.origin };
  };

  routes.app.get('/r/:id/:token', async (c) => {
    try {
      const l = await located(c);
      if ('refused' in l) return l.refused;
      const view = await requests.open(l.id, l.token);
      return send(c, 200, requestForm(view.request, `/r/${l.id}/${l.token}`, view.csrf));
    } catch (err) {
      return failure(c, err);
    }
  });

  routes.app.post(
    '/r/:id/:token',
    bodyLimit({
      maxSize: MAX_BODY,
      onError: (c) =>
        send(c, 413, page('coffer', '<p class="err">The value is too large (64 KiB at most).</p>')),
    }),
    async (c) => {
      try {
        const l = await located(c);
        if ('refused' in l) return l.refused;
        const own = async (reason: string) => {
          await refuse(c, l.id, l.token, reason);
          return send(
            c,
            403,
            page('coffer', '<p class="err">This form must be sent from its own page.</p>'),
          );
        };
        if (c.req.header('origin') !== l.origin) {
          return own(
            c.req.header('origin') === undefined
              ? 'form sent without an Origin header'
              : 'form sent from another origin',
          );
        }
        if (!(c.req.header('content-type') ?? '').startsWith('application/x-www-form-urlencoded')) {
          return send(c, 415, page('coffer', '<p class="err">Unsupported form encoding.</p>'));
        }
        const raw = Buffer.from(await c.req.arrayBuffer());
        const fields = new URLSearchParams(raw.toString('utf8'));
        raw.fill(0);
        if (!(await requests.csrfMatches(l.id, l.token, fields.get('csrf') ?? ''))) {
          return own("form without the page's CSRF field");
        }
        if (fields.get('action') === 'decline') {
          await requests.declineByToken(l.id, l.token);
          return send(
            c,
            200,
            page('Declined', '<p>Nothing was stored. You can close this tab.</p>'),
          );
        }
        let r: Awaited<ReturnType<typeof requests.submit>>;
        try {
          r = await requests.submit(l.id, l.token, formValue(fields));
        } catch (err) {
          // A value the vault refuses: the form again, with the reason; the link still works.
          if (!isRefusedValue(err)) throw err;
          const view = await requests.open(l.id, l.token);
          return send(
            c,
            400,
            requestForm(view.request, `/r/${l.id}/${l.token}`, view.csrf, shownMessage(err)),
          );
        }
        return send(
          c,
          200,
          page(
            'Stored',
            `<p>${esc(r.path)} (${esc(r.env)}) is stored as version ${r.version}. You can close this tab.</p>`,
          ),
        );
      } catch (err) {
        return failure(c, err);
      }
    },
  );

  // Any other path under /r/ (a segment missing or one too many) is a link that names no
  // request too, and counts against the same budget: a 404 that did not count made such
  // guesses free.
  routes.app.on(['GET', 'POST'], `${LINK_PATH_PREFIX}*`, async (c) => {
    try {
      return tooMany(c, (await guesses.malformed(c.get('address') ?? 'unknown')).retryAfter);
    } catch (err) {
      return failure(c, err);
    }
  });
}
