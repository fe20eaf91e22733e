/**
 * How a route is declared: one `RouteSpec` (method, path, capability, zod schemas of query,
 * body and answer) from which the server both registers the hono handler and writes the
 * route's part of the OpenAPI document (openapi.ts). So the document cannot drift from what
 * the server checks.
 *
 * `addRoute` runs the checks every route shares, in this order: the query (strict), the
 * key path and environment of the target (core grammar), the token's capability, path and
 * environment (core/access: `authorize` decides, and audits a refusal as `denied`), then the body (JSON media type, UTF-8,
 * JSON syntax, schema). The handler gets checked values only, and its answer is parsed with
 * the answer schema before it is sent.
 */
import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import { authorize, type Target } from '../core/access/policy.js';
import { CofferError } from '../core/errors.js';
import { localSecretsService } from '../core/service/local-service.js';
import type { SecretsService } from '../core/service/secrets-service.js';
import type { TokenCapability } from '../core/store/storage.js';
import type { Vault } from '../core/store/vault.js';
import type { TokenPolicy } from './auth.js';
import type { AppEnv } from './context.js';

export type { Target } from '../core/access/policy.js';

export interface RouteSpec<Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType> {
  method: 'get' | 'put' | 'post' | 'delete';
  /** OpenAPI form: `/v1/secrets/{scope}/{group}/{name}`. */
  path: string;
  summary: string;
  /** The audit action of a refusal (`get`, `set`, `token_create`, ...). */
  action: string;
  /** null: no token needed. */
  capability: TokenCapability | null;
  query: Q;
  body?: B;
  response: R;
  /** 200 unless said otherwise. */
  status?: 200 | 201;
  /** The key path and environment the request acts on, from its parameters (core grammar). */
  target?: (params: Record<string, string>, query: z.output<Q>) => Target;
  /** The answer holds values: a token that may not reveal them is refused (core/access). */
  reveals?: true;
}

export interface Call<Q extends z.ZodType, B extends z.ZodType> {
  c: Context<AppEnv>;
  params: Record<string, string>;
  query: z.output<Q>;
  body: z.output<B>;
  target: Target;
  /** The token's policy (undefined on routes without a capability). */
  policy: TokenPolicy;
  /** The vault acting as this request's token (`token:NAME@ADDRESS`). */
  vault: Vault;
  /**
   * The SecretsService every front end uses, as this request's token and bounded by its
   * policy (refusals audited through the request's `deny`); made on first use.
   */
  readonly secrets: SecretsService;
}

export type AnyRouteSpec = RouteSpec<z.ZodType, z.ZodType, z.ZodType>;

/** Where routes go: the app, the specs so far (for the OpenAPI document), the body limit. */
export interface Routes {
  app: Hono<AppEnv>;
  specs: AnyRouteSpec[];
  /** Runs before the routes that take a body (only those: it makes GETs slower). */
  bodyLimit: MiddlewareHandler<AppEnv>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A zod failure as a CofferError; names fields and rules, never the values sent. */
export function invalid(what: string, error: z.ZodError): CofferError {
  const parts = error.issues.slice(0, 3).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : what;
    if (issue.code === 'unrecognized_keys') {
      return `${where}: unknown ${issue.keys.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}`;
    }
    return `${where}: ${issue.message}`;
  });
  return new CofferError('INVALID_ARGUMENT', `invalid ${what}: ${parts.join('; ')}`);
}

/**
 * A query string (without `?`) as an object, decoded as URLSearchParams decodes it; a
 * repeated parameter is refused.
 */
export function parseQuery(query: string): Record<string, string> {
  // No prototype: a parameter named __proto__ is a key like any other (and refused by the
  // strict schema).
  const out: Record<string, string> = Object.create(null);
  const add = (key: string, value: string): void => {
    if (key in out) {
      throw new CofferError(
        'INVALID_ARGUMENT',
        `the query parameter ${key.slice(0, 40)} is repeated`,
      );
    }
    out[key] = value;
  };
  if (/[%+]/.test(query)) {
    for (const [key, value] of new URLSearchParams(query)) add(key, value);
    return out;
  }
  // Nothing to decode (the usual `env=dev`): split by hand, as URLSearchParams would
  // (which also drops one leading `?`).
  for (const pair of (query.startsWith('?') ? query.slice(1) : query).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq < 0) add(pair, '');
    else add(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

function queryObject(c: Context<AppEnv>): Record<string, string> {
  const url = c.req.url;
  const start = url.indexOf('?');
  if (start < 0) return Object.create(null);
  const hash = url.indexOf('#', start);
  return parseQuery(url.slice(start + 1, hash < 0 ? undefined : hash));
}

async function readJson(c: Context<AppEnv>): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new CofferError('UNSUPPORTED_MEDIA_TYPE', 'the request body must be application/json');
  }
  let text: string;
  try {
    text = utf8.decode(await c.req.arrayBuffer());
  } catch (err) {
    if (err instanceof CofferError) throw err;
    throw new CofferError('INVALID_ARGUMENT', 'the request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new CofferError('INVALID_ARGUMENT', 'the request body is not valid JSON');
  }
}

/** Registers `spec` on the app and records it in `routes.specs` (for the OpenAPI document). */
export function addRoute<Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
  routes: Routes,
  spec: RouteSpec<Q, B, R>,
  handler: (call: Call<Q, B>) => Promise<z.input<R>> | z.input<R>,
): void {
  routes.specs.push(spec as unknown as AnyRouteSpec);
  const honoPath = spec.path.replace(/\{(\w+)\}/g, ':$1');
  const run = async (c: Context<AppEnv>): Promise<Response> => {
    c.set('route', spec.path);
    const q = spec.query.safeParse(queryObject(c));
    if (!q.success) throw invalid('query', q.error);
    const params = c.req.param() as Record<string, string>;
    const target = spec.target?.(params, q.data) ?? {};
    if (spec.reveals === true) target.values = true;
    const policy = c.get('policy');
    if (spec.capability !== null) {
      await authorize(policy, spec.capability, spec.action, target, c.get('deny'));
    }
    let body: unknown;
    if (spec.body !== undefined) {
      const b = spec.body.safeParse(await readJson(c));
      if (!b.success) throw invalid('body', b.error);
      body = b.data;
    }
    const vault = c.get('vault');
    let secrets: SecretsService | undefined;
    const call = {
      c,
      params,
      query: q.data,
      body,
      target,
      policy,
      vault,
      get secrets(): SecretsService {
        secrets ??= localSecretsService(vault, { policy, deny: c.get('deny') });
        return secrets;
      },
    };
    const answer = spec.response.parse(await handler(call as Call<Q, B>));
    return c.json(answer as object, spec.status ?? 200);
  };
  if (spec.body === undefined) routes.app[spec.method](honoPath, run);
  else routes.app[spec.method](honoPath, routes.bodyLimit, run);
}
