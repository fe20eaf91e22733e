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
 * Slow clients are bounded: headers must arrive within 10 s and a whole request within 30 s.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { CofferError } from '../core/errors.js';
import type { AppEnv } from './context.js';

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

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
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

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CofferError('IO_ERROR', `cannot read the TLS ${what} ${file} (${code})`);
  }
}

export async function startServer(app: Hono<AppEnv>, b: Binding): Promise<RunningServer> {
  const tls =
    b.tlsCert === undefined
      ? undefined
      : { cert: readPem(b.tlsCert, 'certificate'), key: readPem(b.tlsKey!, 'key') };
  const server = serve({
    fetch: app.fetch,
    hostname: b.host,
    port: b.port,
    ...(tls !== undefined ? { createServer: createHttpsServer, serverOptions: tls } : {}),
  }) as import('node:http').Server;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server.once('listening', () => resolve(server.address() as AddressInfo));
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new CofferError(
          'IO_ERROR',
          `cannot listen on ${b.host}:${b.port} (${err.code ?? err.name})`,
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
