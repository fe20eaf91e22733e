/**
 * Test-only fixture for the server's unit tests (imported by `*.test.ts` files only, never by
 * the server): an in-process app over a fresh SQLite vault (test/helpers/server.ts), one
 * token per capability plus a few narrow, expired and revoked ones, and `expectError`, which
 * checks the `{code, message, requestId}` shape of an error answer and that no value or token
 * appears in it.
 */
import { rmSync } from 'node:fs';
import { expect } from 'vitest';
import { revokeToken } from '../../src/core/access/tokens.js';
import { SERVER_SIDE_CODES } from '../../src/core/errors.js';
import type { AppOptions } from '../../src/server/app.js';
import { type Answer, makeTestServer, type TestServer } from './server.js';

/** A value that must never appear in an error body or a log line. */
export const SENTINEL = 'sentinel-value-Zq8xW3-never-shown';
export const DESCRIPTION = 'Database URL for the billing worker';
const HOUR = 3_600_000;

/** The tokens every kit holds; `app*` ones may touch `project/app/*` only. */
export interface KitTokens {
  /** every capability, every path and environment */
  admin: string;
  read: string;
  list: string;
  write: string;
  delete: string;
  /** read, list, write, delete on `project/app/*`, any environment */
  app: string;
  /** read, list, write, delete on every path, environment `dev` only */
  devOnly: string;
  /** read, list, write, delete, admin, but expired an hour ago */
  expired: string;
  /** read, list, write, delete, admin, but revoked */
  revoked: string;
}

export interface Kit extends TestServer {
  tokens: KitTokens;
  /** Every token string minted, for leak checks. */
  allTokens(): string[];
  /** Closes the vault and removes its directory. */
  dispose(): Promise<void>;
}

const ALL = ['read', 'list', 'write', 'delete', 'admin'];
const RWLD = ['read', 'list', 'write', 'delete'];

export async function makeKit(options: Partial<AppOptions> = {}): Promise<Kit> {
  const server = await makeTestServer(options);
  const minted: string[] = [];
  const mint = async (
    name: string,
    caps: string[],
    extra: { allow?: string[]; envs?: string[]; ttl?: string } = {},
    now?: Date,
  ): Promise<string> => {
    const token = await server.token({ name, caps, allow: ['**'], ...extra }, now);
    minted.push(token);
    return token;
  };
  const tokens: KitTokens = {
    admin: await mint('admin', ALL),
    read: await mint('reader', ['read']),
    list: await mint('lister', ['list']),
    write: await mint('writer', ['write']),
    delete: await mint('deleter', ['delete']),
    app: await mint('app', RWLD, { allow: ['project/app/*'] }),
    devOnly: await mint('dev-only', RWLD, { envs: ['dev'] }),
    expired: await mint('expired', ALL, { ttl: '1h' }, new Date(Date.now() - 2 * HOUR)),
    revoked: await mint('revoked', ALL),
  };
  await revokeToken(server.vault, 'revoked');
  return {
    ...server,
    tokens,
    allTokens: () => [...minted],
    async dispose() {
      await server.api.close();
      server.vault.close();
      await server.storage.close();
      rmSync(server.dir, { recursive: true, force: true });
    },
  };
}

/** The secret part of a token string `coffer_<16 hex>_<43 base64url>` (it may contain `_`). */
export function secretOf(token: string): string {
  return token.slice('coffer_0123456789abcdef_'.length);
}

/** The same token id with another secret: a token that is recognised but does not match. */
export function withWrongSecret(token: string): string {
  return `${token.slice(0, token.length - 43)}${'B'.repeat(43)}`;
}

/** Stores `value` at `path` (env `dev` unless given) through the vault, not the API. */
export async function seed(kit: Kit, path: string, value: string, env = 'dev'): Promise<void> {
  await kit.vault.set(path, env, value, { description: DESCRIPTION });
}

/**
 * Asserts an error answer: its status, the `{code, message, hint?, requestId}` shape (exactly
 * those keys; the request id is the one in X-Request-Id; no hint for the server's own
 * failures), optionally its code, and that no secret
 * (`SENTINEL`, the kit's tokens, anything in `secrets`) and no stack trace is in the body.
 */
export function expectError(
  answer: Answer,
  status: number,
  code?: string,
  secrets: readonly string[] = [],
): void {
  expect({ status: answer.status, text: answer.text }).toMatchObject({ status });
  expectErrorShape(answer, secrets);
  if (code !== undefined) expect(answer.json.code).toBe(code);
}

/** The server's own failures: their hint, like their text, stays on the server. */
const SERVER_SIDE = [...SERVER_SIDE_CODES, 'INTERNAL'];

/** The shape and no-leak half of `expectError`, for any 4xx/5xx status. */
export function expectErrorShape(answer: Answer, secrets: readonly string[] = []): void {
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  const keys = Object.keys(answer.json).filter((k) => k !== 'hint');
  expect(keys.sort()).toEqual(['code', 'message', 'requestId']);
  if ('hint' in answer.json) {
    expect(typeof answer.json.hint).toBe('string');
    expect((answer.json.hint as string).length).toBeGreaterThan(0);
    expect(SERVER_SIDE).not.toContain(answer.json.code);
  }
  expect(answer.json.code).toMatch(/^[A-Z][A-Z_]+$/);
  expect(typeof answer.json.message).toBe('string');
  expect((answer.json.message as string).length).toBeGreaterThan(0);
  expect(answer.json.requestId).toBe(answer.headers.get('x-request-id'));
  expect(answer.text).not.toMatch(/\n\s+at |\.ts:\d+/);
  for (const secret of [SENTINEL, ...secrets]) expect(answer.text).not.toContain(secret);
  expect(answer.text).not.toMatch(/coffer_[0-9a-f]{16}_/);
}

/** The audit records of the kit's vault, oldest first. */
export async function auditRecords(kit: Kit): Promise<
  {
    actor: string;
    action: string;
    path: string | null;
    env: string | null;
    outcome: string;
    detail: string | null;
  }[]
> {
  return kit.vault.readTransaction((tx) => tx.listAudit({ afterSeq: 0, limit: 10_000 }));
}
