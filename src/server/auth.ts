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
 * here within `cacheMs`; one made through this instance takes effect at once (`forget`).
 * Expiry is checked on every request against the clock, cached or not.
 */
import { CofferError } from '../core/errors.js';
import type { Scope } from '../core/paths.js';
import type { TokenCapability, TokenRecord } from '../core/store/storage.js';
import type { Vault } from '../core/store/vault.js';
import { PathScope } from '../mcp/scope.js';
import { parseTokenString, tokenSecretMatches, tokenUnusable } from './token-service.js';

/** A refused authentication: `reason` and `name` are for the audit log, never the client. */
export class AuthFailure {
  constructor(
    readonly reason: 'missing' | 'malformed' | 'unknown' | 'mismatch' | 'expired' | 'revoked',
    readonly name: string | undefined,
  ) {}
}

const PATHS_SEEN_SIZE = 256;

/** What an authenticated token may do. */
export class TokenPolicy {
  readonly token: TokenRecord;
  /** The token's stored SHA-256, as bytes (decoded once per cached record). */
  readonly hashBytes: Buffer;
  readonly #scope: PathScope;
  readonly #envs: ReadonlySet<string>;
  readonly #caps: ReadonlySet<TokenCapability>;
  /** Key paths checked against the globs so far (bounded): a client reads the same few. */
  readonly #pathsSeen = new Map<string, boolean>();

  constructor(token: TokenRecord) {
    this.token = token;
    this.hashBytes = Buffer.from(token.hash, 'hex');
    this.#scope = new PathScope(token.allow.length === 0 ? ['**'] : token.allow);
    this.#envs = new Set(token.envs);
    this.#caps = new Set(token.caps);
  }

  get name(): string {
    return this.token.name;
  }

  can(cap: TokenCapability): boolean {
    return this.#caps.has(cap);
  }

  allowsPath(path: string): boolean {
    let allowed = this.#pathsSeen.get(path);
    if (allowed === undefined) {
      allowed = this.#scope.allows(path);
      if (this.#pathsSeen.size >= PATHS_SEEN_SIZE) this.#pathsSeen.clear();
      this.#pathsSeen.set(path, allowed);
    }
    return allowed;
  }

  allowsEnv(env: string): boolean {
    return this.#envs.size === 0 || this.#envs.has(env);
  }

  /** Could some key path under `scope/group` be allowed? */
  mayContain(scope: Scope, group: string): boolean {
    return this.#scope.mayContain(scope, group);
  }

  /**
   * Why this token may not do `cap` on `path` in `env`, or undefined when it may. With
   * `prefix`, `path` is a `scope/group` prefix (a project), allowed when some key path under
   * it could be: a token for `project/app/*` may read project `app`, whose prefix
   * `project/app` is not itself a key path its globs match.
   */
  refusal(
    cap: TokenCapability,
    target: { path?: string | undefined; env?: string | undefined; prefix?: boolean } = {},
  ): string | undefined {
    if (!this.can(cap)) return `capability ${cap} not granted`;
    if (target.path !== undefined && !this.#allowsTarget(target.path, target.prefix === true)) {
      return 'path not allowed';
    }
    if (target.env !== undefined && !this.allowsEnv(target.env)) return 'environment not allowed';
    return undefined;
  }

  #allowsTarget(path: string, prefix: boolean): boolean {
    if (!prefix) return this.allowsPath(path);
    const [scope, group, ...rest] = path.split('/');
    return (
      (scope === 'project' || scope === 'meta') &&
      group !== undefined &&
      rest.length === 0 &&
      this.mayContain(scope, group)
    );
  }
}

/** The id and secret of an `Authorization: Bearer <token>` header, or undefined. */
function parseBearer(header: string): { id: string; secret: string } | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(header);
  return m === null ? undefined : parseTokenString(m[1]!);
}

/** The client's message for a refusal reason from `TokenPolicy.refusal`. */
export function forbidden(reason: string): CofferError {
  return new CofferError('FORBIDDEN', `this token may not do that: ${reason}`);
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
    if (unusable !== undefined) {
      this.#cache.delete(parsed.id);
      return new AuthFailure(unusable, policy.name);
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
    for (const [id, entry] of this.#cache) if (entry.policy.name === name) this.#cache.delete(id);
  }

  async #policy(id: string, now: number): Promise<TokenPolicy | undefined> {
    const cached = this.#cache.get(id);
    if (cached !== undefined && now < cached.until) return cached.policy;
    const record = await this.#vault.readTransaction((tx) => tx.getToken(id));
    if (record === undefined) {
      this.#cache.delete(id);
      return undefined;
    }
    const policy = new TokenPolicy(record);
    if (this.#cacheMs > 0) {
      // Unknown ids are never cached, so the table holds real tokens only.
      this.#cache.set(id, { policy, until: now + this.#cacheMs });
    }
    return policy;
  }
}
