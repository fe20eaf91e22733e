/**
 * The access policy every front end enforces (the HTTP API for a token, `coffer mcp` for an
 * agent): path globs, environments, capabilities, whether values may be revealed, and an
 * optional expiry. `AccessPolicy.refusal` is the one function that decides an access;
 * `authorize` is the one place a refusal is audited (outcome `denied`) and turned into
 * FORBIDDEN, whichever front end asked.
 *
 * `AccessPolicy.grantRefusal` decides what a policy may hand on (a token creating a token,
 * listing or revoking one): the other policy must lie within this one, field by field.
 */
import { CofferError } from '../errors.js';
import type { Scope } from '../paths.js';
import type { TokenCapability } from '../store/storage.js';
import { PathScope } from './globs.js';

export type { TokenCapability } from '../store/storage.js';

/** `allow`: values may be returned; `never`: only previews (MCP `--reveal never`). */
export type RevealPolicy = 'allow' | 'never';

/** What a policy is made of; empty `allow` = every key path, empty `envs` = every environment. */
export interface PolicySpec {
  allow: readonly string[];
  envs: readonly string[];
  caps: readonly TokenCapability[];
  /** ISO time after which the policy grants nothing; null or missing = never. */
  expiresAt?: string | null | undefined;
  reveal?: RevealPolicy | undefined;
}

/** What an access acts on. */
export interface Target {
  path?: string | undefined;
  env?: string | undefined;
  /** `path` is a `scope/group` prefix (a project), not a key path. */
  prefix?: boolean;
  /** The access covers every key path and environment (e.g. checking the whole audit log). */
  everything?: boolean;
  /** The answer holds values (a secret, a project's secrets): refused under `reveal: never`. */
  values?: boolean;
}

/** Writes the audit record of a refusal (outcome `denied`, detail = the reason). */
export type Denier = (action: string, target: Target, reason: string) => Promise<void>;

const PATHS_SEEN_SIZE = 256;

export class AccessPolicy {
  readonly scope: PathScope;
  readonly envs: readonly string[];
  readonly caps: readonly TokenCapability[];
  readonly expiresAt: string | null;
  readonly reveal: RevealPolicy;
  /** Who holds the policy, for messages (`this token`, `this MCP server`). */
  readonly label: string;
  /** A hint for refusals (how to widen the policy). */
  readonly hint: string | undefined;
  readonly #envs: ReadonlySet<string>;
  readonly #caps: ReadonlySet<TokenCapability>;
  /** Key paths checked against the globs so far (bounded): a client reads the same few. */
  readonly #pathsSeen = new Map<string, boolean>();

  /** Throws USAGE for a malformed glob. */
  constructor(spec: PolicySpec, label = 'this token', hint?: string) {
    this.scope = new PathScope(spec.allow);
    this.envs = [...spec.envs];
    this.caps = [...spec.caps];
    this.expiresAt = spec.expiresAt ?? null;
    this.reveal = spec.reveal ?? 'allow';
    this.label = label;
    this.hint = hint;
    this.#envs = new Set(spec.envs);
    this.#caps = new Set(spec.caps);
  }

  can(cap: TokenCapability): boolean {
    return this.#caps.has(cap);
  }

  allowsPath(path: string): boolean {
    let allowed = this.#pathsSeen.get(path);
    if (allowed === undefined) {
      allowed = this.scope.allows(path);
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
    return this.scope.mayContain(scope, group);
  }

  /** Every key path and every environment. */
  get unrestricted(): boolean {
    return this.scope.unrestricted && this.#envs.size === 0;
  }

  /**
   * THE access decision: why this policy may not do `cap` on `target`, or undefined when
   * it may. With `prefix`, `path` is a `scope/group` prefix (a project), allowed when some
   * key path under it could be: a policy for `project/app/*` may read project `app`, whose
   * prefix `project/app` is not itself a key path its globs match.
   */
  refusal(cap: TokenCapability, target: Target = {}): string | undefined {
    if (!this.can(cap)) return `capability ${cap} not granted`;
    if (target.everything === true && !this.unrestricted) {
      return 'this needs every path and environment';
    }
    if (target.path !== undefined && !this.#allowsTarget(target.path, target.prefix === true)) {
      return 'path not allowed';
    }
    if (target.env !== undefined && !this.allowsEnv(target.env)) return 'environment not allowed';
    if (target.values === true && this.reveal === 'never') return 'values may not be revealed';
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

  /**
   * Why `other` is not within this policy (so may not be granted, listed or revoked by its
   * holder), or undefined when it is: its globs within these globs (sound check, globs.ts),
   * its environments within these (any = every environment: only a policy for any
   * environment may grant any), its capabilities a subset, its expiry no later.
   */
  grantRefusal(other: PolicySpec): string | undefined {
    if (!this.scope.covers(other.allow)) return 'globs beyond the granting policy';
    if (this.#envs.size > 0) {
      if (other.envs.length === 0) return 'any environment is beyond the granting policy';
      if (other.envs.some((e) => !this.#envs.has(e))) {
        return 'environments beyond the granting policy';
      }
    }
    if (other.caps.some((c) => !this.#caps.has(c))) {
      return 'capabilities beyond the granting policy';
    }
    if (this.reveal === 'never' && other.reveal !== 'never') {
      return 'revealing values is beyond the granting policy';
    }
    if (this.expiresAt !== null) {
      const until = other.expiresAt ?? null;
      if (until === null || Date.parse(until) > Date.parse(this.expiresAt)) {
        return 'expiry beyond the granting policy';
      }
    }
    return undefined;
  }

  /** The FORBIDDEN error for a refusal reason (never more than the reason and the hint). */
  forbidden(reason: string): CofferError {
    return new CofferError('FORBIDDEN', `${this.label} may not do that: ${reason}`, {
      ...(this.hint !== undefined ? { hint: this.hint } : {}),
    });
  }
}

/**
 * Decides an access with `policy.refusal`; a refusal is audited through `deny` (outcome
 * `denied`, detail = the reason) before FORBIDDEN is thrown. The one place refusals are
 * audited, for every front end.
 */
export async function authorize(
  policy: AccessPolicy,
  cap: TokenCapability,
  action: string,
  target: Target,
  deny: Denier,
): Promise<void> {
  const reason = policy.refusal(cap, target);
  if (reason !== undefined) await refuse(policy, action, target, reason, deny);
}

/** Audits a refusal through `deny`, then throws FORBIDDEN. */
export async function refuse(
  policy: AccessPolicy,
  action: string,
  target: Target,
  reason: string,
  deny: Denier,
): Promise<never> {
  await deny(action, target, reason);
  throw policy.forbidden(reason);
}
