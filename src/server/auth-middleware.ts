/**
 * The middleware in front of every `/v1` route but the OpenAPI document: rate limit, then
 * bearer-token authentication, then the per-request vault and audit helpers routes use.
 *
 * - An address over its failure budget gets 429 RATE_LIMITED with `Retry-After` before its
 *   token is even looked at.
 * - A failed authentication counts against the address, is audited (action `authenticate`,
 *   outcome `denied`, detail = the reason, actor `token:NAME@ADDRESS` when the token was
 *   recognised, else `unauthenticated@ADDRESS`), and gets one opaque 401 whatever the reason.
 * - An authenticated request gets a vault acting as `token:NAME@ADDRESS`, so every audit
 *   record it causes names the token and the client.
 *
 * If a refusal cannot be audited, the request is refused all the same and the failure is
 * logged (fail closed: never let a request through because the log is down).
 */
import type { MiddlewareHandler } from 'hono';
import { CofferError } from '../core/errors.js';
import type { Vault } from '../core/store/vault.js';
import { AuthFailure, type TokenAuthenticator } from './auth.js';
import { type AppEnv, clientAddress } from './context.js';
import { errorFields, type Logger } from './logger.js';
import type { FailureLimiter } from './rate-limit.js';
import type { Target } from './route.js';

export interface AuthDeps {
  vault: Vault;
  authenticator: TokenAuthenticator;
  limiter: FailureLimiter;
  logger: Logger;
}

/** Paths under /v1 that need no token. */
const PUBLIC = new Set(['/v1/openapi.json']);

export function authMiddleware(deps: AuthDeps): MiddlewareHandler<AppEnv> {
  const { vault, authenticator, limiter, logger } = deps;

  const audit = async (
    actor: string,
    action: string,
    target: Target,
    reason: string,
    requestId: string,
  ): Promise<void> => {
    try {
      await vault.withActor(actor).recordDenied(action, target, reason);
    } catch (err) {
      logger.error({ reqId: requestId, ...errorFields(err) }, 'a refusal could not be audited');
    }
  };

  return async (c, next) => {
    if (PUBLIC.has(c.req.path)) return next();
    const address = clientAddress(c);
    c.set('address', address);
    const wait = limiter.retryAfter(address);
    if (wait !== undefined) {
      c.header('Retry-After', String(wait));
      throw new CofferError(
        'RATE_LIMITED',
        `too many failed authentications from this address; retry in ${wait} s`,
      );
    }
    const result = await authenticator.authenticate(c.req.header('authorization'));
    const requestId = c.get('requestId');
    if (result instanceof AuthFailure) {
      limiter.fail(address);
      const actor =
        result.name === undefined
          ? `unauthenticated@${address}`
          : `token:${result.name}@${address}`;
      await audit(actor, 'authenticate', {}, result.reason, requestId);
      throw new CofferError(
        'UNAUTHENTICATED',
        result.reason === 'missing'
          ? 'this request needs an Authorization: Bearer <token> header'
          : 'the token is not valid (unknown, expired or revoked)',
      );
    }
    const actor = `token:${result.name}@${address}`;
    c.set('policy', result);
    c.set('vault', vault.withActor(actor));
    c.set('deny', (action, target, reason) => audit(actor, action, target, reason, requestId));
    await next();
  };
}
