/**
 * Puts the app on a socket: node:http, or node:https with `--tls-cert/--tls-key`
 * (@hono/node-server adapts hono to node's request objects), and takes it down gracefully.
 *
 * TLS policy: a loopback address (127.0.0.0/8, ::1, localhost) may serve plain HTTP; any
 * other address needs a certificate, or an explicit `--insecure-http` (then the CLI warns).
 *
 * Shutdown (`close`): stop accepting connections, close idle keep-alive connections, let
 * requests in flight finish (their audit records and writes commit), close each connection
 * as it falls idle, and after `graceMs` cut whatever is left.
 *
 * Slow clients are bounded: headers must arrive within 10 s and a whole request within 30 s
 * (`headersTimeoutMs`, `requestTimeoutMs`); node checks these only every
 * `connectionsCheckingInterval` (30 s by default), so the interval is set to a twentieth of
 * the shorter one (at most 500 ms) and a slow client is cut within that of its deadline, with
 * a 408 in the API's error shape. Connections past `maxConnections` (default 512) and a
 * request whose Host header is present but invalid are refused before the hot path or the
 * app see them (connection-guards.ts).
 *
 * A request too malformed to reach the app still gets the API's error shape
 * `{code, message, requestId}`: one node's HTTP parser refuses (bad bytes in the request
 * line, conflicting Content-Length and Transfer-Encoding, oversized headers: `clientError`),
 * one without the Host header HTTP/1.1 requires, and one the adapter cannot turn into a URL
 * (an invalid Host header, `GET *`: its RequestError). By default all of these get a bare
 * 400 with no body.
 *
 * Every answer, from the app, the hot path or a refusal here, carries `Cache-Control:
 * no-store`.
 */
import { statSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { getRequestListener, RequestError } from '@hono/node-server';
import type { Hono } from 'hono';
import { CofferError } from '../core/errors.js';
import { isLoopback } from '../core/loopback.js';
import { READ_LIMITS, readFileLimited, TooLargeError } from '../core/read-limited.js';
import {
  capConnections,
  checkLimits,
  hostHeaderValid,
  refusal,
  type ServerLimits,
} from './connection-guards.js';
import type { AppEnv } from './context.js';
import type { HotPath } from './hot-read.js';

export interface Binding {
  host: string;
  port: number;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  insecureHttp?: boolean | undefined;
}

export interface RunningServer {
  url: string;
  /** Resolves once every connection is closed. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Checks host, port and TLS options; returns a warning to print when plain HTTP leaves the
 * machine (allowed only with `insecureHttp`).
 */
export function checkBinding(b: Binding): string | undefined {
  if ((b.tlsCert === undefined) !== (b.tlsKey === undefined)) {
    throw new CofferError('USAGE', '--tls-cert and --tls-key go together');
  }
  if (!Number.isSafeInteger(b.port) || b.port < 0 || b.port > 65535) {
    throw new CofferError('USAGE', '--port must be a whole number from 0 to 65535');
  }
  if (b.tlsCert !== undefined || isLoopback(b.host)) return undefined;
  if (!b.insecureHttp) {
    throw new CofferError(
      'USAGE',
      `refusing to serve plain HTTP on ${b.host}: tokens and values would cross the network in clear text`,
      { hint: 'Pass --tls-cert FILE --tls-key FILE, or --insecure-http on a network you trust.' },
    );
  }
  return `serving plain HTTP on ${b.host}: tokens and values cross the network in clear text`;
}

/**
 * A PEM file of --tls-cert or --tls-key, read under READ_LIMITS.tlsFile (a pipe such as
 * `--tls-key <(vault read ...)` included): a huge file or an endless device is refused naming
 * the file and the limit.
 */
function readPem(file: string, what: string): Buffer {
  try {
    return readFileLimited(file, READ_LIMITS.tlsFile, `a TLS ${what}`);
  } catch (err) {
    if (err instanceof TooLargeError) throw err;
    const cause = err instanceof CofferError ? err.cause : err;
    // The reader names a directory without a system error: said as EISDIR, as always.
    const dir = statSync(file, { throwIfNoEntry: false })?.isDirectory() === true;
    const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? (dir ? 'EISDIR' : 'error');
    throw new CofferError('IO_ERROR', `cannot read the TLS ${what} ${file} (${code})`);
  }
}

/** The adapter's refusal of a request it cannot build (Host, URL), as the API's error. */
function onRequestError(err: unknown): Response {
  // Anything else reaching here would be a failure of the app itself, which hono's onError
  // already turns into an answer; kept as a generic 500 all the same.
  const bad = err instanceof RequestError;
  const { body, requestId } = bad
    ? refusal('INVALID_ARGUMENT', 'malformed request: invalid URL or Host header')
    : refusal('INTERNAL', 'internal error');
  return new Response(body, {
    status: bad ? 400 : 500,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
  });
}

/**
 * node's own refusal of what its parser cannot read, answered like node does by default
 * (same statuses, then the connection is closed) but with the API's error body. Nothing is
 * written into a connection whose answer has already started.
 */
function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const started = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (err.code !== 'ECONNRESET' && socket.writable && started?.headersSent !== true) {
    const [status, code, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'VALUE_TOO_LARGE' as const, 'the request headers are too large']
        : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
          ? [413, 'VALUE_TOO_LARGE' as const, 'the chunk extensions are too large']
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? [408, 'INVALID_ARGUMENT' as const, 'the request took too long to arrive']
            : [400, 'INVALID_ARGUMENT' as const, 'malformed HTTP request'];
    const { body, requestId } = refusal(code, message);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\n` +
        'cache-control: no-store\r\n' +
        `connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

export interface StartOptions extends ServerLimits {
  /** Tried first for each request; what it does not take goes to the app (hot-read.ts). */
  hotPath?: HotPath | undefined;
}

export async function startServer(
  app: Hono<AppEnv>,
  b: Binding,
  start: StartOptions = {},
): Promise<RunningServer> {
  const { hotPath } = start;
  const limits = checkLimits(start);
  const tls =
    b.tlsCert === undefined
      ? undefined
      : { cert: readPem(b.tlsCert, 'certificate'), key: readPem(b.tlsKey!, 'key') };
  // @hono/node-server's listener on a node server made here (its `serve` offers no hook for
  // requests it cannot build).
  const adapter = getRequestListener(app.fetch, {
    hostname: b.host,
    errorHandler: onRequestError,
  });
  // HTTP/1.1 requires a Host header. node refuses a request without one itself, with an
  // empty 400, unless told not to (requireHostHeader); the refusal is made here instead.
  /** Answers 400 with coffer's error body and closes: for requests refused before routing. */
  const refuse = (outgoing: ServerResponse, message: string): undefined => {
    const { body, requestId } = refusal('INVALID_ARGUMENT', message);
    outgoing.writeHead(400, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-request-id': requestId,
      connection: 'close',
    });
    outgoing.end(body);
    return undefined;
  };
  const listener = (incoming: IncomingMessage, outgoing: ServerResponse): unknown => {
    // Every answer, also those made outside the app (the hot path's values, the refusals
    // below), is no-store as the app's are (app.ts noStore); node merges it into writeHead's.
    outgoing.setHeader('cache-control', 'no-store');
    const host = incoming.headers.host;
    if (host === undefined && incoming.httpVersion === '1.1') {
      return refuse(outgoing, 'an HTTP/1.1 request needs Host');
    }
    if (host !== undefined && !hostHeaderValid(host)) {
      return refuse(outgoing, 'malformed request: invalid URL or Host header');
    }
    if (hotPath?.(incoming, outgoing) === true) return undefined;
    return adapter(incoming, outgoing);
  };
  const options = {
    requireHostHeader: false,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(
      5,
      Math.min(500, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 20)),
    ),
  };
  const server: Server =
    tls !== undefined
      ? createHttpsServer({ ...tls, ...options }, listener)
      : createHttpServer(options, listener);
  server.on('clientError', onClientError);
  capConnections(server, limits.maxConnections, tls !== undefined);
  server.listen(b.port, b.host);
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server.once('listening', () => resolve(server.address() as AddressInfo));
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new CofferError(
          'IO_ERROR',
          `cannot listen on ${b.host}:${b.port} (${err.code ?? err.name})`,
          { cause: err },
        ),
      );
    });
  });
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls !== undefined ? 'https' : 'http'}://${host}:${address.port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    close(graceMs = 10_000) {
      closing ??= new Promise<void>((resolve) => {
        const idle = setInterval(() => server.closeIdleConnections(), 50);
        const cut = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearInterval(idle);
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
