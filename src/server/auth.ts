/**
 * Who is calling and what they may do: bearer-token authentication and the token's policy.
 *
 * `TokenAuthenticator.authenticate` takes the Authorization header and returns the token's
 * policy, or an `AuthFailure` whose reason (missing, malformed, unknown, mismatch, expired,
 * revoked) goes to the audit log only: the client always gets the same opaque 401.
 *
 * Token records are cached in memory for `cacheMs` (default 1 s, 0 = no cache), so a busy
 * server does not read the token table on every request. What that costs: a revocation made
 * through another instance (or `coffer token revoke` on the database directly) takes effect
 * here within `cacheMs`; one made through this instance takes effect at once (`forget`), also
 * for a record whose read was under way while it was made (not cached).
 * Expiry is checked on every request against the clock, cached or not. A revoked token is
 * refused from its record, without its globs being compiled into a policy.
 */
import { AccessPolicy } from '../core/access/policy.js';
import {
  parseTokenString,
  tokenPolicySpec,
  tokenSecretMatches,
  tokenUnusable,
} from '../core/access/tokens.js';
import type { TokenRecord } from '../core/store/storage.js';
import type { Vault } from '../core/store/vault.js';

/** A refused authentication: `reason` and `name` are for the audit log, never the client. */
export class AuthFailure {
  constructor(
    readonly reason: 'missing' | 'malformed' | 'unknown' | 'mismatch' | 'expired' | 'revoked',
    readonly name: string | undefined,
  ) {}
}

/**
 * What an authenticated token may do: its policy (core/access/policy.ts decides every
 * access), with the record it came from and its stored hash as bytes (decoded once per
 * cached record).
 */
export class TokenPolicy extends AccessPolicy {
  readonly token: TokenRecord;
  readonly hashBytes: Buffer;

  constructor(token: TokenRecord) {
    super(tokenPolicySpec(token));
    this.token = token;
    this.hashBytes = Buffer.from(token.hash, 'hex');
  }

  get name(): string {
    return this.token.name;
  }
}

/**
 * A revoked token's record: refused once its secret matches, without its globs ever being
 * compiled into a policy (a restore revokes tokens whose globs are past the caps new tokens
 * have, any number of any length: backup.ts). Never cached.
 */
class RevokedToken {
  readonly token: TokenRecord;
  readonly hashBytes: Buffer;

  constructor(token: TokenRecord) {
    this.token = token;
    this.hashBytes = Buffer.from(token.hash, 'hex');
  }

  get name(): string {
    return this.token.name;
  }
}

/** The id and secret of an `Authorization: Bearer <token>` header, or undefined. */
function parseBearer(header: string): { id: string; secret: string } | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(header);
  return m === null ? undefined : parseTokenString(m[1]!);
}

export interface AuthenticatorOptions {
  /** How long a token record is reused, in ms (default 1000; 0 = read it every time). */
  cacheMs?: number;
  now?: () => Date;
}

export class TokenAuthenticator {
  readonly #vault: Vault;
  readonly #cacheMs: number;
  readonly #now: () => Date;
  readonly #cache = new Map<string, { policy: TokenPolicy; until: number }>();
  /**
   * Counts `forget` calls: a record read while one happened may predate that revocation
   * (its read began before the revocation committed), so it answers its own request but is
   * not cached, or it would let the revoked token in again for up to `cacheMs`.
   */
  #forgotten = 0;

  constructor(vault: Vault, options: AuthenticatorOptions = {}) {
    this.#vault = vault;
    this.#cacheMs = options.cacheMs ?? 1000;
    this.#now = options.now ?? (() => new Date());
  }

  /** The policy of the bearer token in `header`, or the reason it is refused. */
  async authenticate(header: string | undefined): Promise<TokenPolicy | AuthFailure> {
    if (header === undefined || header === '') return new AuthFailure('missing', undefined);
    const parsed = parseBearer(header);
    if (parsed === undefined) return new AuthFailure('malformed', undefined);
    const now = this.#now();
    const policy = await this.#policy(parsed.id, now.getTime());
    if (policy === undefined) return new AuthFailure('unknown', undefined);
    if (!tokenSecretMatches(policy.hashBytes, parsed.secret)) {
      return new AuthFailure('mismatch', policy.name);
    }
    const unusable = tokenUnusable(policy.token, now);
    if (unusable !== undefined || !(policy instanceof TokenPolicy)) {
      this.#cache.delete(parsed.id);
      return new AuthFailure(unusable ?? 'revoked', policy.name);
    }
    return policy;
  }

  /**
   * The policy of the bearer token in `header` when its record is cached and it is valid
   * now (same checks as `authenticate`, without waiting); otherwise undefined, and the
   * caller takes `authenticate`'s way, which reads the record and names the reason of a
   * refusal. Never counts or audits anything itself.
   */
  cached(header: string | undefined): TokenPolicy | undefined {
    if (header === undefined) return undefined;
    const parsed = parseBearer(header);
    if (parsed === undefined) return undefined;
    const entry = this.#cache.get(parsed.id);
    if (entry === undefined) return undefined;
    const now = this.#now();
    if (now.getTime() >= entry.until) return undefined;
    const { policy } = entry;
    if (!tokenSecretMatches(policy.hashBytes, parsed.secret)) return undefined;
    return tokenUnusable(policy.token, now) === undefined ? policy : undefined;
  }

  /** Drops a cached token (after it was revoked through this server). */
  forget(name: string): void {
    this.#forgotten++;
    for (const [id, entry] of this.#cache) if (entry.policy.name === name) this.#cache.delete(id);
  }

  async #policy(id: string, now: number): Promise<TokenPolicy | RevokedToken | undefined> {
    const cached = this.#cache.get(id);
    if (cached !== undefined && now < cached.until) return cached.policy;
    const forgotten = this.#forgotten;
    const record = await this.#vault.readTransaction((tx) => tx.getToken(id));
    if (record === undefined || record.revokedAt !== null) {
      this.#cache.delete(id);
      return record === undefined ? undefined : new RevokedToken(record);
    }
    const policy = new TokenPolicy(record);
    if (this.#cacheMs > 0 && forgotten === this.#forgotten) {
      // Unknown ids are never cached, so the table holds real tokens only.
      this.#cache.set(id, { policy, until: now + this.#cacheMs });
    }
    return policy;
  }
}
