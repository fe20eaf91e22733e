/**
 * The middleware in front of every `/v1` route but the OpenAPI document: rate limit and
 * bearer-token authentication, then the per-request vault and audit helpers routes use.
 *
 * - The limit throttles failed attempts, not valid tokens: an address over its failure
 *   budget (rate-limit.ts; behind a proxy many clients may share one) is still served for a
 *   valid token. What such an address can make the server do stays small: a token whose
 *   record is cached is checked in memory; a token id this server has seen valid recently
 *   (KnownTokenIds) is authenticated as usual, which reads its record at most once per
 *   cache period; other ids share a small budget of reads per second (LookupBudget);
 *   anything else (ids past that budget, garbage, no token) gets 429 RATE_LIMITED with
 *   `Retry-After` without a database read. Failures while limited count and are audited
 *   like any other.
 * - A failed authentication counts against the address and gets one opaque 401 whatever
 *   the reason. Its audit record (action `authenticate`, outcome `denied`, detail = the
 *   reason, actor `token:NAME@ADDRESS` when the token was recognised, else
 *   `unauthenticated@ADDRESS`) is written at once for the first failure of an address's
 *   window; later ones are aggregated (failure-audit.ts).
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
import { parseTokenString } from '../core/access/tokens.js';
import { CofferError } from '../core/errors.js';
import type { Vault } from '../core/store/vault.js';
import { AuthFailure, type TokenAuthenticator, type TokenPolicy } from './auth.js';
import type { AppEnv } from './context.js';
import type { FailureAudit } from './failure-audit.js';
import { errorFields, type Logger } from './logger.js';
import type { FailureLimiter } from './rate-limit.js';
import type { Target } from './route.js';

export interface AuthDeps {
  vault: Vault;
  authenticator: TokenAuthenticator;
  limiter: FailureLimiter;
  failures: FailureAudit;
  logger: Logger;
}

/** Paths under /v1 that need no token. */
const PUBLIC = new Set(['/v1/openapi.json']);

/** How long a token id stays known after it last authenticated, and how many are kept. */
const KNOWN_MS = 3_600_000;
const KNOWN_MAX = 4096;

/**
 * Ids of tokens that authenticated here recently: the only ids for which a rate-limited
 * address may cost a read of the token table. Bounded; a real token falls out after an hour
 * of disuse (or when the table is full) and then needs one request from an address that is
 * not limited.
 */
export class KnownTokenIds {
  readonly #until = new Map<string, number>();

  add(id: string, now: number): void {
    this.#until.delete(id);
    if (this.#until.size >= KNOWN_MAX) {
      const oldest = this.#until.keys().next().value;
      if (oldest !== undefined) this.#until.delete(oldest);
    }
    this.#until.set(id, now + KNOWN_MS);
  }

  has(id: string, now: number): boolean {
    const until = this.#until.get(id);
    if (until === undefined) return false;
    if (now < until) return true;
    this.#until.delete(id);
    return false;
  }

  delete(id: string): void {
    this.#until.delete(id);
  }
}

/**
 * Reads of the token table for ids that are not known, allowed to rate-limited addresses
 * per second, all together: a valid token first used from behind a limited proxy is served
 * within a second or so, and a limited flood of made-up ids costs at most this many reads.
 */
const UNKNOWN_LOOKUPS_PER_S = 10;

class LookupBudget {
  #second = 0;
  #used = 0;

  take(now: number): boolean {
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#used = 0;
    }
    if (this.#used >= UNKNOWN_LOOKUPS_PER_S) return false;
    this.#used++;
    return true;
  }
}

/** The token id of an `Authorization: Bearer <token>` header, or undefined. */
function bearerTokenId(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
  return m === null ? undefined : parseTokenString(m[1]!)?.id;
}

export function authMiddleware(deps: AuthDeps): MiddlewareHandler<AppEnv> {
  const { vault, authenticator, limiter, failures, logger } = deps;
  const known = new KnownTokenIds();
  const lookups = new LookupBudget();

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

  /** Authenticates, counting and auditing a failure; the policy, or the failure. */
  const authenticate = async (
    header: string | undefined,
    address: string,
  ): Promise<TokenPolicy | AuthFailure> => {
    const result = await authenticator.authenticate(header);
    const id = bearerTokenId(header);
    if (!(result instanceof AuthFailure)) {
      if (id !== undefined) known.add(id, Date.now());
      return result;
    }
    // A token that no longer exists, expired or was revoked is not worth a read again.
    if (id !== undefined && result.reason !== 'mismatch') known.delete(id);
    limiter.fail(address);
    const actor =
      result.name === undefined ? `unauthenticated@${address}` : `token:${result.name}@${address}`;
    await failures.failure(address, actor, result.reason);
    return result;
  };

  /**
   * A rate-limited address: the policy of a valid token; else 429, after a failed attempt
   * (`failed`: counted and audited as such) or without one (undefined: counted as refused).
   */
  const whileLimited = async (
    header: string | undefined,
    address: string,
  ): Promise<TokenPolicy | 'failed' | undefined> => {
    const cached = authenticator.cached(header);
    if (cached !== undefined) return cached;
    const id = bearerTokenId(header);
    if (id === undefined) return undefined;
    const now = Date.now();
    if (!known.has(id, now) && !lookups.take(now)) return undefined;
    const result = await authenticate(header, address);
    return result instanceof AuthFailure ? 'failed' : result;
  };

  return async (c, next) => {
    if (PUBLIC.has(c.req.path)) return next();
    const address = c.get('address');
    const header = c.req.header('authorization');
    const requestId = c.get('requestId');
    let policy: TokenPolicy;
    const wait = limiter.retryAfter(address);
    if (wait !== undefined) {
      const passed = await whileLimited(header, address);
      if (passed === undefined || passed === 'failed') {
        if (passed === undefined) failures.refused(address);
        c.header('Retry-After', String(wait));
        throw new CofferError(
          'RATE_LIMITED',
          `too many failed authentications from this address; retry in ${wait} s`,
        );
      }
      policy = passed;
    } else {
      const result = await authenticate(header, address);
      if (result instanceof AuthFailure) {
        throw new CofferError(
          'UNAUTHENTICATED',
          result.reason === 'missing'
            ? 'this request needs an Authorization: Bearer <token> header'
            : 'the token is not valid (unknown, expired or revoked)',
        );
      }
      policy = result;
    }
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
