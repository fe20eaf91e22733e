/**
 * The middleware in front of every `/v1` route but the OpenAPI document: rate limit and
 * bearer-token authentication (token-gate.ts), then the per-request vault and audit helpers
 * routes use.
 *
 * - A limited address without a valid token gets 429 RATE_LIMITED with `Retry-After`.
 * - A failed authentication gets one opaque 401 whatever the reason (counted and audited by
 *   the gate).
 * - An authenticated request gets a vault acting as `token:NAME@ADDRESS`, so every audit
 *   record it causes names the token and the client; with an `X-Coffer-Agent` label (an MCP
 *   client in remote mode), `token:NAME@ADDRESS (mcp:CLIENT/VERSION agent:ID)`. The label is
 *   checked (core/access/agent-label.ts; 400 otherwise) and decides nothing.
 *
 * If a refusal cannot be audited, the request is refused all the same and the failure is
 * logged (fail closed: never let a request through because the log is down).
 */
import type { MiddlewareHandler } from 'hono';
import { AGENT_HEADER, actorWithAgent, parseAgentLabel } from '../core/access/agent-label.js';
import { CofferError } from '../core/errors.js';
import type { Vault } from '../core/store/vault.js';
import type { AppEnv } from './context.js';
import { errorFields, type Logger } from './logger.js';
import type { Target } from './route.js';
import type { TokenGate } from './token-gate.js';

export interface AuthDeps {
  vault: Vault;
  gate: TokenGate;
  logger: Logger;
}

/** Paths under /v1 that need no token. */
const PUBLIC = new Set(['/v1/openapi.json']);

export function authMiddleware(deps: AuthDeps): MiddlewareHandler<AppEnv> {
  const { vault, gate, logger } = deps;

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
    const address = c.get('address');
    const header = c.req.header('authorization');
    const requestId = c.get('requestId');
    const result = await gate.check(header, address);
    if ('retryAfter' in result) {
      c.header('Retry-After', String(result.retryAfter));
      throw new CofferError(
        'RATE_LIMITED',
        `too many failed authentications from this address; retry in ${result.retryAfter} s`,
      );
    }
    if ('failure' in result) {
      throw new CofferError(
        'UNAUTHENTICATED',
        result.failure.reason === 'missing'
          ? 'this request needs an Authorization: Bearer <token> header'
          : 'the token is not valid (unknown, expired or revoked)',
      );
    }
    const { policy } = result;
    // The agent a client names (X-Coffer-Agent) is recorded after the token's name, as a
    // label only; a header outside the grammar is refused, never cleaned into a record.
    const agent = c.req.header(AGENT_HEADER);
    const actor = actorWithAgent(
      `token:${policy.name}@${address}`,
      agent === undefined ? undefined : parseAgentLabel(agent),
    );
    c.set('policy', policy);
    c.set('vault', vault.withActor(actor));
    c.set('deny', (action, target, reason) => audit(actor, action, target, reason, requestId));
    await next();
  };
}
