/**
 * An in-process `coffer serve` for API tests: a fresh SQLite vault, the hono app over it
 * (`app.request`, no socket), a log captured in memory, and helpers to mint tokens and send
 * requests as a given client address.
 */
import { Writable } from 'node:stream';
import type { Hono } from 'hono';
import { createToken, type TokenRequest } from '../../src/core/access/tokens.js';
import type { Api, AppOptions } from '../../src/server/app.js';
import { createApi } from '../../src/server/app.js';
import type { AppEnv } from '../../src/server/context.js';
import { createLogger } from '../../src/server/logger.js';
import { makeTestVault, type TestVault } from './vault.js';

export interface SendOptions {
  token?: string | undefined;
  /** A JSON body (stringified) or raw text / bytes as given. */
  body?: unknown;
  headers?: Record<string, string>;
  /** The TCP peer address the server sees (default 127.0.0.1). */
  address?: string;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

export interface TestServer extends TestVault {
  app: Hono<AppEnv>;
  /** The app with its hot path and `close` (writes pending aggregated audit records). */
  api: Api;
  /** Every log line written so far. */
  logs: string[];
  token(request: Partial<TokenRequest> & { name: string }, now?: Date): Promise<string>;
  send(method: string, path: string, options?: SendOptions): Promise<Answer>;
}

export async function makeTestServer(options: Partial<AppOptions> = {}): Promise<TestServer> {
  const base = await makeTestVault('serve');
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const api = createApi({ vault: base.vault, logger, ...options });
  const { app } = api;
  return {
    ...base,
    app,
    api,
    logs,
    async token(request, now) {
      const created = await createToken(
        base.vault,
        { allow: ['**'], caps: ['read'], ...request },
        now ?? new Date(),
      );
      return created.token;
    },
    async send(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
      let body: string | Uint8Array | undefined;
      if (typeof o.body === 'string' || o.body instanceof Uint8Array) {
        body = o.body as string | Uint8Array;
      } else if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await app.request(
        `http://coffer.test${path}`,
        { method, headers, ...(body !== undefined ? { body } : {}) },
        { incoming: { socket: { remoteAddress: o.address ?? '127.0.0.1' } } },
      );
      const text = await res.text();
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // left empty: the test asserts on status and text
      }
      return { status: res.status, headers: res.headers, text, json };
    },
  };
}
