/**
 * The rate limit and bearer-token check shared by the API (auth-middleware.ts) and the web
 * UI's login (ui/routes.ts), so that both treat a limited address alike.
 *
 * The limit throttles failed attempts, not valid tokens: an address over its failure budget
 * (core/access/failure-limiter.ts; behind a proxy many clients may share one) is still let
 * in with a valid token. What such an address can make the server do stays small: a token
 * whose record is cached is checked in memory; a token id this server has seen valid recently
 * (KnownTokenIds) is authenticated as usual, which reads its record at most once per cache
 * period; other ids share a small budget of reads per second (LookupBudget); anything else
 * (ids past that budget, garbage, no token) is refused without a database read. Failures
 * while limited count and are audited like any other: a failure counts against the address,
 * and its audit record (action `authenticate`, outcome `denied`, detail = the reason, actor
 * `token:NAME@ADDRESS` when the token was recognised, else `unauthenticated@ADDRESS`) is
 * written at once for the first failure of an address's window; later ones are aggregated
 * (failure-audit.ts).
 *
 * An attempt takes its place in the address's failure budget before the token lookup it
 * awaits (FailureLimiter.begin), and gives it back only when it succeeds: concurrent guesses
 * from one address cannot all pass the check while the first lookups are still running.
 */

import type { Attempt, FailureLimiter } from '../core/access/failure-limiter.js';
import { parseTokenString } from '../core/access/tokens.js';
import { AuthFailure, type TokenAuthenticator, type TokenPolicy } from './auth.js';
import type { FailureAudit } from './failure-audit.js';

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

/**
 * What the gate decided: a policy; a failed authentication (`failure`); or, for a limited
 * address, a refusal with the seconds to wait (`retryAfter`).
 */
export type GateResult =
  | { policy: TokenPolicy }
  | { failure: AuthFailure }
  | { retryAfter: number };

export class TokenGate {
  readonly #authenticator: Pick<TokenAuthenticator, 'authenticate' | 'cached'>;
  readonly #limiter: FailureLimiter;
  readonly #failures: FailureAudit;
  readonly #now: () => number;
  readonly #known = new KnownTokenIds();
  readonly #lookups = new LookupBudget();

  constructor(deps: {
    authenticator: Pick<TokenAuthenticator, 'authenticate' | 'cached'>;
    limiter: FailureLimiter;
    failures: FailureAudit;
    /** Clock of the known-id table and the lookup budget, in ms (tests). */
    now?: () => number;
  }) {
    this.#authenticator = deps.authenticator;
    this.#limiter = deps.limiter;
    this.#failures = deps.failures;
    this.#now = deps.now ?? Date.now;
  }

  /** Checks `Authorization: Bearer <token>` (or its absence) from `address`. */
  async check(header: string | undefined, address: string): Promise<GateResult> {
    const wait = this.#limiter.retryAfter(address);
    if (wait === undefined) {
      // The place is taken before the lookup is awaited (no await between the two).
      const result = await this.#authenticate(header, address, this.#limiter.begin(address));
      return result instanceof AuthFailure ? { failure: result } : { policy: result };
    }
    const passed = await this.#whileLimited(header, address);
    if (passed === undefined) this.#failures.refused(address);
    return passed === undefined || passed === 'failed' ? { retryAfter: wait } : { policy: passed };
  }

  /**
   * Authenticates within `attempt` (its place in the budget, taken by the caller before this
   * awaits anything), counting and auditing a failure; the policy, or the failure.
   */
  async #authenticate(
    header: string | undefined,
    address: string,
    attempt: Attempt,
  ): Promise<TokenPolicy | AuthFailure> {
    let result: TokenPolicy | AuthFailure;
    try {
      result = await this.#authenticator.authenticate(header);
    } catch (err) {
      attempt.abandoned();
      throw err;
    }
    const id = bearerTokenId(header);
    if (!(result instanceof AuthFailure)) {
      attempt.succeeded();
      if (id !== undefined) this.#known.add(id, this.#now());
      return result;
    }
    // A token that no longer exists, expired or was revoked is not worth a read again.
    if (id !== undefined && result.reason !== 'mismatch') this.#known.delete(id);
    attempt.failed();
    const actor =
      result.name === undefined ? `unauthenticated@${address}` : `token:${result.name}@${address}`;
    await this.#failures.failure(address, actor, result.reason);
    return result;
  }

  /**
   * A rate-limited address: the policy of a valid token; else a refusal, after a failed
   * attempt (`failed`: counted and audited as such) or without one (undefined).
   */
  async #whileLimited(
    header: string | undefined,
    address: string,
  ): Promise<TokenPolicy | 'failed' | undefined> {
    const cached = this.#authenticator.cached(header);
    if (cached !== undefined) return cached;
    const id = bearerTokenId(header);
    if (id === undefined) return undefined;
    const now = this.#now();
    if (!this.#known.has(id, now) && !this.#lookups.take(now)) return undefined;
    const result = await this.#authenticate(header, address, this.#limiter.begin(address));
    return result instanceof AuthFailure ? 'failed' : result;
  }
}
