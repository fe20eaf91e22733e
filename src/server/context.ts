/**
 * The per-request values the server's middleware hands to routes (hono's `Variables`), and
 * the node:http binding the client address is read from.
 *
 * The address is the TCP peer (`socket.remoteAddress`), never a header such as
 * X-Forwarded-For, which any client can set: behind a reverse proxy every request comes from
 * the proxy's address (SECURITY.md).
 */
import type { Context } from 'hono';
import type { Vault } from '../core/store/vault.js';
import type { TokenPolicy } from './auth.js';
import type { Target } from './route.js';

export interface AppEnv {
  Bindings: { incoming?: { socket?: { remoteAddress?: string | undefined } } };
  Variables: {
    requestId: string;
    /** The route pattern (OpenAPI form) once matched: what the log shows, never the raw path. */
    route: string;
    /** The client's address, for the audit log and the rate limit. */
    address: string;
    policy: TokenPolicy;
    /** The vault acting as the request's token. */
    vault: Vault;
    /** The error code of an answer made without a thrown error (404 of an unknown route). */
    errorCode: string;
    /** Audits a refused request (outcome `denied`); never throws. */
    deny: (action: string, target: Target, reason: string) => Promise<void>;
  };
}

/** The TCP peer address, `::ffff:` prefix removed; `unknown` without a socket (tests). */
export function clientAddress(c: Context<AppEnv>): string {
  return peerAddress(c.env?.incoming?.socket?.remoteAddress);
}

/** A socket's `remoteAddress` as the audit log and the rate limit name it. */
export function peerAddress(raw: string | undefined): string {
  if (typeof raw !== 'string' || raw === '') return 'unknown';
  return raw.startsWith('::ffff:') ? raw.slice(7) : raw;
}
