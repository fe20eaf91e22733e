/**
 * The HTTP API of `coffer serve` as a hono app (docs/http-api.md). `createApi` builds it
 * from an open vault, with the hot path for secret reads (hot-read.ts) that shares its token
 * cache, rate limit, read batcher and log; `http-server.ts` puts both on a socket, tests call
 * `app.request` (`createApp`: the app alone).
 *
 * Order of work for a request: request id, client address (client-address.ts) and log line
 * (logger.ts), `Cache-Control: no-store` for every answer (`noStore`), then for `/v1` the rate limit and token (auth-middleware.ts), and the route (route.ts: query, target, policy, body
 * size limit and body, handler, answer schema). Every error, thrown anywhere, becomes
 * `{code, message, requestId}` in `onError` (error-response.ts); unknown routes get the same
 * shape with ROUTE_NOT_FOUND.
 */
import { randomUUID } from 'node:crypto';
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { FailureLimiter, type RateLimitOptions } from '../core/access/failure-limiter.js';
import { AuditChainCheck } from '../core/audit/chain-check.js';
import { CofferError } from '../core/errors.js';
import { LinkGuesses } from '../core/requests/link-guesses.js';
import { StoredSecretRequests } from '../core/requests/stored-requests.js';
import type { Vault } from '../core/store/vault.js';
import { TokenAuthenticator } from './auth.js';
import { authMiddleware } from './auth-middleware.js';
import { ClientAddresses, trustedProxies } from './client-address.js';
import type { AppEnv } from './context.js';
import { errorResponse } from './error-response.js';
import { FailureAudit, type FailureAuditOptions } from './failure-audit.js';
import { type HotPath, hotSecretRead } from './hot-read.js';
import {
  createLogger,
  errorFields,
  type Logger,
  requestLineLogger,
  requestLogger,
} from './logger.js';
import { openApiDocument } from './openapi.js';
import { ReadBatcher } from './read-batcher.js';
import { addRoute, type Routes } from './route.js';
import { auditRoutes } from './routes/audit-route.js';
import { projectsRoutes } from './routes/projects-route.js';
import { requestsRoutes } from './routes/requests-route.js';
import { rotationRoutes } from './routes/rotation-route.js';
import { secretsRoutes } from './routes/secrets-route.js';
import { tokensRoutes } from './routes/tokens-route.js';
import { Health, NoQuery, OpenApiDocument } from './schemas.js';
import { TokenGate } from './token-gate.js';
import { type UiOptions, uiHeaders, uiRoutes } from './ui/routes.js';

/** Bodies above this are refused with 413 (a 64 KiB value may take 6x that as JSON). */
export const DEFAULT_BODY_LIMIT: number = 512 * 1024;

export interface AppOptions {
  /** An open vault; its actor is used for nothing but records the server writes itself. */
  vault: Vault;
  /** Default: silent. */
  logger?: Logger | undefined;
  /** Clock for token expiry (tests). */
  now?: (() => Date) | undefined;
  bodyLimitBytes?: number | undefined;
  rateLimit?: RateLimitOptions | undefined;
  /** Aggregation of failed-authentication records (failure-audit.ts; window: the limit's). */
  failureAudit?: Omit<FailureAuditOptions, 'windowMs' | 'now'> | undefined;
  /**
   * Proxies (CIDRs) whose X-Forwarded-For names the client (client-address.ts); default
   * none: the client is the TCP peer.
   */
  trustedProxies?: readonly string[] | undefined;
  /** How long token records are cached, in ms (default 1000; see auth.ts). */
  tokenCacheMs?: number | undefined;
  /** Most reads committed in one transaction (default 256). */
  maxBatch?: number | undefined;
  /**
   * Answer a read only once its audit record is on disk, not just committed (default: the
   * record is committed before the answer and synced within a few ms; see TxOptions).
   */
  syncReads?: boolean | undefined;
  /** coffer's version, for the OpenAPI document. */
  version?: string | undefined;
  /** The web UI at `/` (ui/routes.ts): its session store and reveal time. */
  ui?: UiOptions | undefined;
  /**
   * The origin the pages of agents' secret requests are served at (`--public-url`); default:
   * the origin each request was made to.
   */
  publicUrl?: string | undefined;
}

/** The app, and the hot path `startServer` puts in front of it (hot-read.ts). */
export interface Api {
  app: Hono<AppEnv>;
  hotPath: HotPath;
  /** Writes what is still pending (aggregated failure records); call after the socket closed. */
  close(): Promise<void>;
}

/**
 * `Cache-Control: no-store` on every answer of the app, errors and unknown routes included:
 * API answers carry values and tokens, the web UI's pages carry names and CSRF fields, and a
 * browser or a caching proxy must keep none of them. Set before the handler runs (see
 * uiHeaders for why); what is answered outside the app (the hot path, refusals before
 * routing) gets it in http-server.ts.
 */
export const noStore: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.header('Cache-Control', 'no-store');
  await next();
};

export function createApp(options: AppOptions): Hono<AppEnv> {
  return createApi(options).app;
}

export function createApi(options: AppOptions): Api {
  const { vault } = options;
  const now = options.now ?? (() => new Date());
  const logger = options.logger ?? createLogger({ level: 'silent' });
  const authenticator = new TokenAuthenticator(vault, {
    now,
    ...(options.tokenCacheMs !== undefined ? { cacheMs: options.tokenCacheMs } : {}),
  });
  const limiter = new FailureLimiter(options.rateLimit);
  const addresses = new ClientAddresses(trustedProxies(options.trustedProxies ?? []));
  const failures = new FailureAudit(
    async (actor, detail) => {
      try {
        await vault.withActor(actor).recordDenied('authenticate', {}, detail);
      } catch (err) {
        logger.error(errorFields(err), 'a refusal could not be audited');
      }
    },
    {
      ...options.failureAudit,
      ...(options.rateLimit?.windowMs !== undefined
        ? { windowMs: options.rateLimit.windowMs }
        : {}),
      ...(options.rateLimit?.now !== undefined ? { now: options.rateLimit.now } : {}),
    },
  );
  const batcher = new ReadBatcher(vault, options.maxBatch, {
    deferSync: options.syncReads !== true,
  });
  const maxSize = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;

  const log = requestLineLogger(logger);

  const app = new Hono<AppEnv>();
  app.use(
    '*',
    requestLogger(log, randomUUID, (c) => {
      const incoming = c.env?.incoming;
      return addresses.of(
        incoming?.socket?.remoteAddress,
        incoming?.headers !== undefined
          ? incoming.headers['x-forwarded-for']
          : c.req.header('x-forwarded-for'),
      );
    }),
  );
  app.use('*', noStore);
  app.use('*', uiHeaders);
  const gate = new TokenGate({
    authenticator,
    limiter,
    failures,
    ...(options.rateLimit?.now !== undefined ? { now: options.rateLimit.now } : {}),
  });
  app.use('/v1/*', authMiddleware({ vault, gate, logger }));
  const routes: Routes = {
    app,
    specs: [],
    bodyLimit: bodyLimit({
      maxSize,
      onError: () => {
        throw new CofferError('VALUE_TOO_LARGE', `the request body is over ${maxSize} bytes`);
      },
    }),
  };
  let document: Record<string, unknown> | undefined;
  addRoute(
    routes,
    {
      method: 'get',
      path: '/healthz',
      summary: 'Liveness',
      action: 'health',
      capability: null,
      query: NoQuery,
      response: Health,
    },
    () => ({ ok: true as const }),
  );
  addRoute(
    routes,
    {
      method: 'get',
      path: '/v1/openapi.json',
      summary: 'This OpenAPI 3.1 document',
      action: 'openapi',
      capability: null,
      query: NoQuery,
      response: OpenApiDocument,
    },
    () => {
      document ??= openApiDocument(routes.specs, options.version ?? '0.0.0-dev');
      return document;
    },
  );
  secretsRoutes(routes, batcher);
  projectsRoutes(routes);
  rotationRoutes(routes);
  // One walk of the audit chain at a time for the API and the web UI together.
  const chainCheck = new AuditChainCheck(vault, { now });
  auditRoutes(routes, chainCheck);
  tokensRoutes(routes, authenticator, now);
  // Agents' requests live in the store, so every instance on it serves their pages and its
  // web UI lists and answers them; a UI in one process with an agent may bring its own.
  const requests = new StoredSecretRequests(vault, () => now().getTime());
  // Guesses of a request's link: the API's failure budget, a refused address audited once a
  // window (as the request page, by its address: there is no request to name).
  const guesses = new LinkGuesses(async (address, detail) => {
    try {
      await vault.withActor(`unauthenticated@${address}`).recordDenied('request_page', {}, detail);
    } catch (err) {
      logger.error(errorFields(err), 'a refusal could not be audited');
    }
  }, options.rateLimit);
  requestsRoutes(routes, requests, { publicUrl: options.publicUrl, guesses });
  uiRoutes({
    app,
    vault,
    authenticator,
    gate,
    logger,
    bodyLimit: routes.bodyLimit,
    now,
    chainCheck,
    requests: options.ui?.requests ?? requests,
    publicUrl: options.publicUrl,
    options: options.ui ?? {},
  });

  app.notFound((c) => {
    c.set('errorCode', 'ROUTE_NOT_FOUND');
    const err = new CofferError('ROUTE_NOT_FOUND', 'no such route; see GET /v1/openapi.json');
    const { status, body } = errorResponse(err, c.get('requestId') ?? 'none');
    return c.json(body, status as ContentfulStatusCode);
  });
  app.onError((err, c) => {
    const { status, body } = errorResponse(err, c.get('requestId') ?? 'none');
    return c.json(body, status as ContentfulStatusCode);
  });
  const hotPath = hotSecretRead({ authenticator, addresses, batcher, log, newId: randomUUID });
  return { app, hotPath, close: () => failures.close() };
}
