/**
 * API tokens of `coffer serve`: create, list, revoke, and check a presented token.
 *
 * A token is `coffer_<id>_<secret>`: `<id>` is 16 hex characters, public (it names the token
 * in logs and lets the server find its record); `<secret>` is 32 bytes from the OS CSPRNG
 * (node:crypto randomBytes) in base64url, 43 characters. Only the SHA-256 of the secret is
 * stored. A plain hash is enough here, unlike for a password: the secret has 256 bits of
 * entropy, so there is no dictionary to stretch against. Comparison is constant-time
 * (crypto.timingSafeEqual on the two digests).
 *
 * A token's policy is its path globs (globs.ts), its environments (empty = any), its
 * capabilities and an optional expiry. Creating and revoking are audited (`token_create`,
 * `token_revoke`, detail = the name); the token string itself never leaves `createToken`'s
 * result.
 *
 * Who may manage tokens: the CLI on the local store, holding the master key, is the root and
 * may create, list and revoke any token (no `within`). A token with the `admin` capability
 * (HTTP API) passes its own policy as `within`: it may create only tokens whose policy lies
 * within its own (policy.ts, `grantRefusal`), and list and revoke only such tokens. A refusal
 * is audited (outcome `denied`) through the caller's `deny`.
 *
 * Not here: HTTP and caching (server/auth.ts), the failure budget of guesses
 * (failure-limiter.ts).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256Bytes, sha256Hex } from '../crypto/sha256.js';
import { CofferError } from '../errors.js';
import { parseEnvironment } from '../paths.js';
import type { TokenCapability, TokenRecord } from '../store/storage.js';
import type { Vault } from '../store/vault.js';
import { globsBeyondCaps, parseGlobs } from './globs.js';
import {
  type AccessPolicy,
  type Denier,
  type PolicySpec,
  type RevealPolicy,
  refuse,
} from './policy.js';

export const TOKEN_CAPABILITIES: readonly TokenCapability[] = [
  'read',
  'list',
  'write',
  'delete',
  'admin',
];

/** What a caller asks for; every field is checked (CLI flags and HTTP bodies alike). */
export interface TokenRequest {
  name: string;
  allow: readonly string[];
  envs?: readonly string[] | undefined;
  caps: readonly string[];
  /** `30d`, `12h`, `90m`, `2w`, `45s`; undefined = never expires. */
  ttl?: string | undefined;
  /** `never`: the token may not read values (HTTP 403, audited); default `allow`. */
  reveal?: RevealPolicy | undefined;
}

export interface CreatedToken {
  name: string;
  /** Shown once; only its hash is stored. */
  token: string;
  expiresAt: string | null;
}

/** A token record without its hash: what `list` shows (`noReveal` always present). */
export type TokenInfo = Omit<TokenRecord, 'hash' | 'mac' | 'noReveal'> & { noReveal: boolean };

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const TOKEN = /^coffer_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const TTL = /^([1-9]\d{0,5})([smhdw])$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const MAX_TTL_MS = 3650 * UNIT_MS.d;

export function parseTokenName(name: string): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      'a token name is 1-64 lowercase letters, digits, - and _, starting with a letter or digit',
      { hint: 'Name it for who uses it, e.g. deploy, ci-staging, alice-laptop.' },
    );
  }
  return name;
}

/** A time to live in milliseconds (`30d` -> 2592000000); at most 10 years. */
export function parseTtl(ttl: string): number {
  const m = typeof ttl === 'string' ? TTL.exec(ttl) : null;
  const ms = m === null ? Number.NaN : Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (!(ms <= MAX_TTL_MS)) {
    throw new CofferError('INVALID_ARGUMENT', 'a time to live is a number and a unit, e.g. 30d', {
      hint: 'Units: s, m, h, d, w (e.g. 90m, 12h, 30d, 2w); at most 3650d.',
    });
  }
  return ms;
}

export function parseCapabilities(caps: readonly string[]): TokenCapability[] {
  const out = new Set<TokenCapability>();
  for (const cap of caps) {
    if (!(TOKEN_CAPABILITIES as readonly string[]).includes(cap)) {
      throw new CofferError(
        'INVALID_ARGUMENT',
        `unknown capability "${String(cap).slice(0, 32)}"; use ${TOKEN_CAPABILITIES.join(', ')}`,
      );
    }
    out.add(cap as TokenCapability);
  }
  if (out.size === 0) throw new CofferError('INVALID_ARGUMENT', 'a token needs a capability');
  return TOKEN_CAPABILITIES.filter((c) => out.has(c));
}

/** Splits a presented token into its id and secret; undefined when it is not one. */
export function parseTokenString(text: string): { id: string; secret: string } | undefined {
  const m = TOKEN.exec(text);
  return m === null ? undefined : { id: m[1]!, secret: m[2]! };
}

export function hashTokenSecret(secret: string): string {
  return sha256Hex(secret);
}

/**
 * Does `secret` hash to `storedHash` (the record's hash as bytes)? Constant-time in the
 * secret.
 */
export function tokenSecretMatches(storedHash: Uint8Array, secret: string): boolean {
  const given = sha256Bytes(secret);
  return storedHash.length === given.length && timingSafeEqual(storedHash, given);
}

/** Why a matching token may not be used now, or undefined when it may. */
export function tokenUnusable(record: TokenRecord, now: Date): 'revoked' | 'expired' | undefined {
  if (record.revokedAt !== null) return 'revoked';
  if (record.expiresAt !== null && Date.parse(record.expiresAt) <= now.getTime()) return 'expired';
  return undefined;
}

export function tokenInfo(record: TokenRecord): TokenInfo {
  const { hash: _hash, mac: _mac, noReveal, ...info } = record;
  return { ...info, noReveal: noReveal === true };
}

/** Checks a request and builds the record to store (without touching storage). */
function buildToken(request: TokenRequest, now: Date): { record: TokenRecord; token: string } {
  const name = parseTokenName(request.name);
  if (!Array.isArray(request.allow) || request.allow.length === 0) {
    throw new CofferError('INVALID_ARGUMENT', 'a token needs at least one path glob (allow)', {
      hint: 'e.g. --allow "project/app/*"; "**" allows every key path.',
    });
  }
  const allow = parseGlobs(request.allow);
  const envs = [...new Set((request.envs ?? []).map((e) => parseEnvironment(e)))];
  const caps = parseCapabilities(request.caps);
  const reveal = request.reveal ?? 'allow';
  if (reveal !== 'allow' && reveal !== 'never') {
    throw new CofferError('INVALID_ARGUMENT', 'reveal is "allow" or "never"');
  }
  const expiresAt =
    request.ttl === undefined
      ? null
      : new Date(now.getTime() + parseTtl(request.ttl)).toISOString();
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const record: TokenRecord = {
    id,
    name,
    hash: hashTokenSecret(secret),
    allow,
    envs,
    caps,
    createdAt: now.toISOString(),
    expiresAt,
    revokedAt: null,
    ...(reveal === 'never' ? { noReveal: true } : {}),
  };
  return { record, token: `coffer_${id}_${secret}` };
}

/** The policy a token record grants (a record without globs grants every key path). */
export function tokenPolicySpec(record: Omit<TokenRecord, 'hash'>): PolicySpec {
  return {
    allow: record.allow.length === 0 ? ['**'] : record.allow,
    envs: record.envs,
    caps: record.caps,
    expiresAt: record.expiresAt,
    reveal: record.noReveal === true ? 'never' : 'allow',
  };
}

/**
 * The policy a token management call is made under: the caller's, and how its refusals are
 * audited. Missing: the root (the CLI with the master key), which may manage every token.
 */
export interface TokenManager {
  policy: AccessPolicy;
  /** Default: the vault's own `recordDenied`. */
  deny?: Denier | undefined;
}

function denierOf(vault: Vault, manager: TokenManager): Denier {
  return manager.deny ?? ((action, target, reason) => vault.recordDenied(action, target, reason));
}

/** The answer to a name held by a token the caller may not see: a policy refusal's. */
const NAME_NOT_AVAILABLE = 'name not available, pick another';

/** The audited reason of a refused name (never shown to the caller). */
function nameHeldReason(name: string, why: string): string {
  return `the name ${name} is held by a token outside the granting policy (${why})`;
}

/** Why the caller may not see `held` (a token beyond its policy), or undefined when it may. */
function hiddenFrom(within: TokenManager | undefined, held: TokenRecord): string | undefined {
  return within === undefined ? undefined : within.policy.grantRefusal(tokenPolicySpec(held));
}

/**
 * Creates a token; the answer holds the token string, which is not stored anywhere. With
 * `within`, a token whose policy is not within the caller's is refused (FORBIDDEN, audited).
 * A name in use is ALREADY_EXISTS when the caller may see that token (the root, or a token
 * within the caller's policy, as `listTokens` shows them); when it may not, the answer is
 * the FORBIDDEN of a policy refusal, which neither says that a token of that name exists
 * nor anything of its policy, and the real reason is audited (as `revokeToken` does).
 */
export async function createToken(
  vault: Vault,
  request: TokenRequest,
  now: Date = new Date(),
  within?: TokenManager,
): Promise<CreatedToken> {
  const { record, token } = buildToken(request, now);
  if (within !== undefined) {
    const reason = within.policy.grantRefusal(tokenPolicySpec(record));
    if (reason !== undefined) {
      await refuse(within.policy, 'token_create', {}, reason, denierOf(vault, within));
    }
    // A token's policy never changes once stored, so checking it before the write is safe;
    // one stored in between is caught in the write below, with the same answer.
    const held = await vault.readTransaction((tx) => tx.getTokenByName(record.name));
    const hidden = held === undefined ? undefined : hiddenFrom(within, held);
    if (hidden !== undefined) {
      await denierOf(vault, within)('token_create', {}, nameHeldReason(record.name, hidden));
      throw within.policy.forbidden(NAME_NOT_AVAILABLE);
    }
  }
  const created = await vault.auditedTransaction('token_create', async (tx) => {
    const held = await tx.getTokenByName(record.name);
    if (held !== undefined) {
      const hidden = hiddenFrom(within, held);
      if (hidden !== undefined) {
        return { result: false, outcome: 'denied', detail: nameHeldReason(record.name, hidden) };
      }
      throw new CofferError('ALREADY_EXISTS', `a token named ${record.name} exists already`, {
        // A revoked token keeps its name, so that a name in the audit log means one token.
        hint: "Choose another name: a revoked token's name stays taken, so that the audit log keeps one meaning per name.",
      });
    }
    await tx.insertToken(record);
    return { result: true, detail: record.name };
  });
  if (!created && within !== undefined) throw within.policy.forbidden(NAME_NOT_AVAILABLE);
  return { name: record.name, token, expiresAt: record.expiresAt };
}

/**
 * May the holder of `within` see `record` in a listing? Its policy must lie within the
 * caller's. A revoked token whose globs are past parseGlobs' caps (an earlier coffer's, or
 * one a restore revoked for them: backup.ts) is not checked at all, and so not shown: it can
 * be used by no one, and its globs (any number, of any length) would cost a containment
 * check on every listing. `globsBeyondCaps` answers from their count and lengths, or reads
 * at most MAX_GLOBS x MAX_GLOB_LENGTH characters. The root (`coffer token list`) sees it.
 */
function listedWithin(within: AccessPolicy, record: TokenRecord): boolean {
  if (record.revokedAt !== null && revokedBeyondCaps(record)) return false;
  return within.grantRefusal(tokenPolicySpec(record)) === undefined;
}

/** Are a token's globs past the caps (or malformed: no coffer stored such a glob)? */
function revokedBeyondCaps(record: TokenRecord): boolean {
  try {
    return globsBeyondCaps(record.allow) !== undefined;
  } catch (err) {
    if (err instanceof CofferError) return true;
    throw err;
  }
}

/**
 * Every token (revoked ones too), oldest first, without hashes; with `within`, only the
 * tokens whose policy lies within the caller's (`listedWithin`).
 */
export async function listTokens(vault: Vault, within?: AccessPolicy): Promise<TokenInfo[]> {
  // Audited (`token_list`, with how many were shown): who looked at the tokens and their
  // policies is what an intruder holding an admin token would do first.
  return vault.auditedTransaction('token_list', async (tx) => {
    const records = await tx.listTokens();
    const shown = records
      .filter((r) => within === undefined || listedWithin(within, r))
      .map(tokenInfo);
    return { result: shown, detail: `${shown.length} tokens` };
  });
}

/**
 * Revokes a token by name; revoking a revoked token again keeps its first revocation time.
 * With `within`, a token whose policy is not within the caller's is refused (audited as
 * denied, answered TOKEN_NOT_FOUND like a name that does not exist).
 */
export async function revokeToken(
  vault: Vault,
  name: string,
  now: Date = new Date(),
  within?: TokenManager,
): Promise<TokenInfo> {
  const n = parseTokenName(name);
  if (within !== undefined) {
    // A token's policy never changes once stored, so checking it before the write is safe.
    const record = await vault.readTransaction((tx) => tx.getTokenByName(n));
    const reason =
      record === undefined ? undefined : within.policy.grantRefusal(tokenPolicySpec(record));
    if (reason !== undefined) {
      // Audited with the reason, answered as for a name that does not exist: a scoped admin
      // learns neither that the token exists nor how its policy is wider.
      await denierOf(vault, within)('token_revoke', {}, reason);
      throw new CofferError('TOKEN_NOT_FOUND', `no token named ${n}`);
    }
  }
  return vault.auditedTransaction('token_revoke', async (tx) => {
    const record = await tx.getTokenByName(n);
    if (record === undefined) {
      throw new CofferError('TOKEN_NOT_FOUND', `no token named ${n}`);
    }
    const revokedAt = record.revokedAt ?? now.toISOString();
    if (record.revokedAt === null) await tx.revokeToken(record.id, revokedAt);
    return { result: tokenInfo({ ...record, revokedAt }), detail: n };
  });
}
