/**
 * Web UI sessions: what the browser's cookie stands for, kept in this server's memory.
 *
 * A session is made by a login: a token pasted once (the session keeps it and
 * authenticates it again on every request, so a revoked or expired token ends its sessions
 * within the token cache time) or a one-time login link from `coffer ui` (the session acts
 * with the local user's whole policy). The cookie holds a random id only; the session also
 * holds the CSRF token every change must carry. Sessions expire (`ttlMs`, default 8 h) and
 * are forgotten on logout and on restart; a server of several instances needs sticky
 * sessions, or a login per instance.
 *
 * Memory is bounded without letting one holder end others' sessions: a token (or the local
 * user) holds at most MAX_SESSIONS_PER_OWNER sessions, its own oldest ending when it logs in
 * once more; when the store is full (MAX_SESSIONS), expired sessions go first, then the
 * oldest session of whoever holds the most. So logging in again and again with one valid
 * token, which is not rate-limited, ends only that token's own sessions.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AccessPolicy } from '../../core/access/policy.js';

export const SESSION_TTL_MS = 8 * 3_600_000;
/** A login link is good once, within this time. */
export const LINK_TTL_MS = 10 * 60_000;
/** Most sessions held at once (see the header for which one goes when full). */
export const MAX_SESSIONS = 10_000;
/** Most sessions of one token, or of the local user; a new login ends its own oldest. */
export const MAX_SESSIONS_PER_OWNER = 20;

export type SessionOwner =
  | { kind: 'token'; header: string }
  | { kind: 'local'; policy: AccessPolicy; actor: string };

export interface Session {
  id: string;
  owner: SessionOwner;
  csrf: string;
  expiresAt: number;
}

const hashOf = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Whose a session is, for the per-owner cap: the token (by its hash), or the local user. */
function ownerKey(owner: SessionOwner): string {
  return owner.kind === 'token'
    ? `token:${hashOf(owner.header).toString('hex')}`
    : `local:${owner.actor}`;
}

function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(hashOf(a), hashOf(b));
}

export class SessionStore {
  /** By the hash of the session id, oldest first. */
  readonly #sessions = new Map<string, Session>();
  /** The keys of each owner's sessions (ownerKey), oldest first. */
  readonly #byOwner = new Map<string, Set<string>>();
  readonly #links = new Map<
    string,
    { owner: SessionOwner; until: number; onRedeem: (() => void) | undefined }
  >();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: { ttlMs?: number | undefined; now?: (() => number) | undefined } = {}) {
    this.#ttlMs = options.ttlMs ?? SESSION_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** How many sessions are held (expired ones not yet dropped included). */
  get size(): number {
    return this.#sessions.size;
  }

  create(owner: SessionOwner): Session {
    const group = ownerKey(owner);
    const own = this.#byOwner.get(group);
    if (own !== undefined && own.size >= MAX_SESSIONS_PER_OWNER) {
      this.#remove(own.values().next().value!);
    } else if (this.#sessions.size >= MAX_SESSIONS) {
      this.#makeRoom();
    }
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      owner,
      csrf: randomBytes(32).toString('base64url'),
      expiresAt: this.#now() + this.#ttlMs,
    };
    // Keyed by the id's hash: a lookup compares hashes, never the id itself.
    const key = hashOf(session.id).toString('hex');
    this.#sessions.set(key, session);
    const keys = this.#byOwner.get(group) ?? new Set<string>();
    keys.add(key);
    this.#byOwner.set(group, keys);
    return session;
  }

  get(id: string | undefined): Session | undefined {
    if (id === undefined || id.length > 100) return undefined;
    const key = hashOf(id).toString('hex');
    const s = this.#sessions.get(key);
    if (s === undefined) return undefined;
    if (this.#now() >= s.expiresAt) {
      this.#remove(key);
      return undefined;
    }
    return s;
  }

  delete(id: string | undefined): void {
    if (id !== undefined) this.#remove(hashOf(id).toString('hex'));
  }

  /** Ends every session of a token (or of the local user), e.g. when it no longer authenticates. */
  deleteOwner(owner: SessionOwner): void {
    for (const key of [...(this.#byOwner.get(ownerKey(owner)) ?? [])]) this.#remove(key);
  }

  /**
   * The store is full: drops the expired sessions (the oldest first: every session lives
   * `ttlMs`, so they are at the front), else the oldest session of the owner holding the most.
   */
  #makeRoom(): void {
    const now = this.#now();
    for (const [key, s] of this.#sessions) {
      if (now < s.expiresAt) break;
      this.#remove(key);
    }
    if (this.#sessions.size < MAX_SESSIONS) return;
    let most: Set<string> | undefined;
    for (const keys of this.#byOwner.values()) if (keys.size > (most?.size ?? 0)) most = keys;
    if (most !== undefined) this.#remove(most.values().next().value!);
  }

  #remove(key: string): void {
    const s = this.#sessions.get(key);
    if (s === undefined) return;
    this.#sessions.delete(key);
    const group = ownerKey(s.owner);
    const keys = this.#byOwner.get(group);
    keys?.delete(key);
    if (keys?.size === 0) this.#byOwner.delete(group);
  }

  csrfValid(session: Session, sent: string | undefined): boolean {
    return sent !== undefined && sent.length < 200 && sameSecret(session.csrf, sent);
  }

  /**
   * A one-time login code for `owner`, good for LINK_TTL_MS. `onRedeem` is called when the
   * code is presented (used up, in time or not): `coffer ui` then deletes the page that
   * held it.
   */
  link(owner: SessionOwner, onRedeem?: () => void): string {
    const code = randomBytes(32).toString('base64url');
    this.#links.set(hashOf(code).toString('hex'), {
      owner,
      until: this.#now() + LINK_TTL_MS,
      onRedeem,
    });
    return code;
  }

  /** The owner of a login code, which is used up by this call. */
  redeem(code: string): SessionOwner | undefined {
    if (code.length > 100) return undefined;
    const key = hashOf(code).toString('hex');
    const entry = this.#links.get(key);
    this.#links.delete(key);
    entry?.onRedeem?.();
    if (entry === undefined || this.#now() >= entry.until) return undefined;
    return entry.owner;
  }
}
