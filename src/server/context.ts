/**
 * The per-request values the server's middleware hands to routes (hono's `Variables`), and
 * the node:http binding the client address is read from.
 *
 * The address is the TCP peer (`socket.remoteAddress`), or, when that peer is a trusted
 * proxy (`--trusted-proxy`), the client it names in X-Forwarded-For (client-address.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Vault } from '../core/store/vault.js';
import type { TokenPolicy } from './auth.js';
import type { Target } from './route.js';

export interface AppEnv {
  /** node:http's request (`socket` and `headers` only in in-process tests, or neither). */
  Bindings: {
    incoming?: {
      socket?: { remoteAddress?: string | undefined };
      headers?: IncomingHttpHeaders;
    };
  };
  Variables: {
    requestId: string;
    /** The route pattern (OpenAPI form) once matched: what the log shows, never the raw path. */
    route: string;
    /** The client's address, for the audit log, the rate limit and the log. */
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
