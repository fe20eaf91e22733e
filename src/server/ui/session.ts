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
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AccessPolicy } from '../../core/access/policy.js';

export const SESSION_TTL_MS = 8 * 3_600_000;
/** A login link is good once, within this time. */
export const LINK_TTL_MS = 10 * 60_000;
/** Most sessions held at once; the oldest goes first. */
const MAX_SESSIONS = 10_000;

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

function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(hashOf(a), hashOf(b));
}

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
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

  create(owner: SessionOwner): Session {
    if (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      owner,
      csrf: randomBytes(32).toString('base64url'),
      expiresAt: this.#now() + this.#ttlMs,
    };
    // Keyed by the id's hash: a lookup compares hashes, never the id itself.
    this.#sessions.set(hashOf(session.id).toString('hex'), session);
    return session;
  }

  get(id: string | undefined): Session | undefined {
    if (id === undefined || id.length > 100) return undefined;
    const key = hashOf(id).toString('hex');
    const s = this.#sessions.get(key);
    if (s === undefined) return undefined;
    if (this.#now() >= s.expiresAt) {
      this.#sessions.delete(key);
      return undefined;
    }
    return s;
  }

  delete(id: string | undefined): void {
    if (id !== undefined) this.#sessions.delete(hashOf(id).toString('hex'));
  }

  /** Ends every session of a token (`header`), e.g. when it no longer authenticates. */
  deleteOwner(owner: SessionOwner): void {
    for (const [k, s] of this.#sessions) if (s.owner === owner) this.#sessions.delete(k);
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
