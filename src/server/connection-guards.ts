/**
 * What `coffer serve` refuses before a request reaches the hot path or the app: too many
 * connections, and an invalid Host header; plus the checked limits of the server (timeouts,
 * connection cap) and the error body of such refusals.
 *
 * - Connection cap: at most `maxConnections` (default 512) connections are open at once. A
 *   connection past that is answered 503 SERVER_BUSY with `Retry-After: 1` and closed before
 *   its request is read; over TLS it is closed without an answer (a handshake is the work the
 *   cap is there to spare).
 * - Host: one rule for both paths (`hostHeaderValid`), applied by http-server.ts to every
 *   request that has the header, so the hot path never answers what the app would refuse.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { CofferError, type ErrorCode } from '../core/errors.js';

/** The limits `startServer` applies (all optional: the defaults below). */
export interface ServerLimits {
  /** The time a client has to send a request's headers, in ms (default 10 000). */
  headersTimeoutMs?: number | undefined;
  /** The time a client has to send a whole request, body included, in ms (default 30 000). */
  requestTimeoutMs?: number | undefined;
  /** Connections open at once, at most (default 512). */
  maxConnections?: number | undefined;
}

/** The JSON error body for a request refused before the app ran (no request id exists yet). */
export function refusal(code: ErrorCode, message: string): { body: string; requestId: string } {
  const requestId = randomUUID();
  return { body: JSON.stringify({ code, message, requestId }), requestId };
}

export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_CONNECTIONS = 512;

/** Checks the limits of StartOptions (the CLI's flags) before anything is opened. */
export function checkLimits(o: ServerLimits): {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  maxConnections: number;
} {
  const headersTimeoutMs = o.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const requestTimeoutMs = o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const maxConnections = o.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const whole = (v: number, min: number) => Number.isSafeInteger(v) && v >= min;
  if (!whole(headersTimeoutMs, 1) || !whole(requestTimeoutMs, 1)) {
    throw new CofferError(
      'USAGE',
      '--headers-timeout and --request-timeout must be whole numbers > 0',
    );
  }
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new CofferError('USAGE', '--headers-timeout cannot be longer than --request-timeout');
  }
  if (!whole(maxConnections, 1)) {
    throw new CofferError('USAGE', '--max-connections must be a whole number >= 1');
  }
  return { headersTimeoutMs, requestTimeoutMs, maxConnections };
}

/** Host values seen, up to this many, with whether they are valid. */
const HOSTS_SEEN_SIZE = 256;
const hostsSeen = new Map<string, boolean>();
/** A name or IPv4 address and a port as written (@hono/node-server takes these unparsed). */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;

/**
 * Is `host` a Host header the server accepts? The rule of @hono/node-server, which builds
 * the request URL from it (a plain lowercase name or address with a port of 4 or 5 digits as
 * is; anything else only if the URL parser keeps its host name, but for case and port, or
 * its length), made stricter by one condition: the header must not spill into another part
 * of that URL (`0\x` parses as host `0.0.0.0` and path `/x`, so the adapter would route a
 * path the request did not name). Applied to every request that has the header, before the
 * hot path and the app, so they never disagree about one.
 */
export function hostHeaderValid(host: string): boolean {
  let valid = hostsSeen.get(host);
  if (valid === undefined) {
    valid = PLAIN_HOST.test(host) || parsedHostUnchanged(host);
    if (hostsSeen.size >= HOSTS_SEEN_SIZE) hostsSeen.clear();
    hostsSeen.set(host, valid);
  }
  return valid;
}

function parsedHostUnchanged(host: string): boolean {
  if (host === '') return false;
  let url: URL;
  try {
    url = new URL(`http://${host}/`);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '' || url.pathname !== '/') return false;
  if (url.search !== '' || url.hash !== '') return false;
  const { hostname } = url;
  return (
    hostname.length === host.length ||
    hostname === (host.includes(':') ? host.replace(/:\d+$/, '') : host).toLowerCase()
  );
}

/** The answer to a connection past the cap: written at once, before its request is read. */
function busy(): string {
  const { body, requestId } = refusal(
    'SERVER_BUSY',
    'the server has as many connections open as it allows; retry in a moment',
  );
  return (
    `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\n` +
    `cache-control: no-store\r\nretry-after: 1\r\nconnection: close\r\n\r\n${body}`
  );
}

/** Turns away a connection past the cap: plain HTTP gets `busy()`, TLS is just closed. */
function turnAway(socket: Socket, tls: boolean): void {
  socket.on('error', () => undefined);
  if (tls) {
    socket.destroy();
    return;
  }
  // Read and drop what the client sends, so that closing does not reset the connection
  // before the client has read the answer; a client that does not close is cut after 1 s.
  socket.resume();
  socket.on('end', () => socket.destroy());
  socket.end(busy());
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * Puts the cap in front of the server's own connection handling (node's http or tls
 * listener on 'connection'): past `max` open connections, a new one never reaches it.
 */
export function capConnections(server: Server, max: number, tls: boolean): void {
  const handlers = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  let open = 0;
  server.on('connection', (socket: Socket) => {
    if (open >= max) {
      turnAway(socket, tls);
      return;
    }
    open++;
    socket.once('close', () => {
      open--;
    });
    for (const handler of handlers) handler.call(server, socket);
  });
}
