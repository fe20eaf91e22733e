import { describe, expect, it } from 'vitest';
import { fakeFetch } from '../../test/helpers/fake-fetch.js';
import { createClient } from './client.js';

const TOKEN = 'coffer_t0k3n1d_q0DPm6bH4vXc1nKz8sY2fLwR9aTeJ5uGhB7iNoVdE3x';

const INFO = {
  path: 'project/app/db_url',
  env: 'prod',
  description: 'Database URL of the app',
  currentVersion: 2,
  tier: null,
  rotation: '365d',
  envVar: null,
  localOnly: false,
  generator: null,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-02T00:00:00.000Z',
  deletedAt: null,
};
const VERSION = { version: 1, createdAt: '2025-01-01T00:00:00.000Z', actor: 'cli:a', kekId: 'k1' };
const RECORD = {
  seq: 7,
  ts: '2025-01-01T00:00:00.000Z',
  actor: 'token:ci',
  action: 'get',
  path: 'project/app/db_url',
  env: 'prod',
  version: 2,
  outcome: 'ok',
  detail: null,
  prevHash: 'aa',
  hash: 'bb',
};
const TOKEN_INFO = {
  name: 'ci',
  id: 't0k3n1d',
  allow: ['project/app/*'],
  envs: [],
  caps: ['read'],
  createdAt: '2025-01-01T00:00:00.000Z',
  expiresAt: null,
  revokedAt: null,
  noReveal: false,
};

type Call = (c: ReturnType<typeof createClient>) => Promise<unknown>;
interface Case {
  name: string;
  call: Call;
  method: string;
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  answer: unknown;
  result: unknown;
}

const CASES: Case[] = [
  {
    name: 'getSecret',
    call: (c) => c.getSecret('project/app/db_url', { env: 'prod', version: 2 }),
    method: 'GET',
    path: '/v1/secrets/project/app/db_url',
    query: { env: 'prod', version: '2' },
    answer: {
      path: 'project/app/db_url',
      env: 'prod',
      version: 2,
      value: 'postgres://u:p@db/app',
      description: 'Database URL of the app',
      createdAt: '2025-01-01T00:00:00.000Z',
      extra: 'dropped',
    },
    result: {
      path: 'project/app/db_url',
      env: 'prod',
      version: 2,
      value: 'postgres://u:p@db/app',
      description: 'Database URL of the app',
      createdAt: '2025-01-01T00:00:00.000Z',
    },
  },
  {
    name: 'setSecret with ifVersion',
    call: (c) =>
      c.setSecret('project/app/db_url', 'v2', { env: 'prod', description: 'DB', ifVersion: 1 }),
    method: 'PUT',
    path: '/v1/secrets/project/app/db_url',
    query: { env: 'prod' },
    body: { value: 'v2', description: 'DB', ifVersion: 1 },
    answer: { path: 'project/app/db_url', env: 'prod', version: 2, created: false },
    result: { path: 'project/app/db_url', env: 'prod', version: 2, created: false },
  },
  {
    name: 'checkSetSecret',
    call: (c) =>
      c.checkSetSecret('project/app/db_url', { env: 'prod', description: 'DB', ifVersion: 0 }),
    method: 'POST',
    path: '/v1/secrets/project/app/db_url/check-set',
    query: { env: 'prod' },
    body: { description: 'DB', ifVersion: 0 },
    answer: { path: 'project/app/db_url', env: 'prod', checked: true },
    result: { path: 'project/app/db_url', env: 'prod', checked: true },
  },
  {
    name: 'checkSetSecret of an existing secret (no description, no version)',
    call: (c) => c.checkSetSecret('project/app/db_url'),
    method: 'POST',
    path: '/v1/secrets/project/app/db_url/check-set',
    body: {},
    answer: { path: 'project/app/db_url', env: 'dev', checked: true },
    result: { path: 'project/app/db_url', env: 'dev', checked: true },
  },
  {
    name: 'listSecrets',
    call: (c) => c.listSecrets({ prefix: 'project/app', env: 'prod', includeDeleted: true }),
    method: 'GET',
    path: '/v1/secrets',
    query: { prefix: 'project/app', env: 'prod', includeDeleted: 'true' },
    answer: { items: [INFO] },
    result: [INFO],
  },
  {
    name: 'deleteSecret',
    call: (c) => c.deleteSecret('project/app/db_url', { env: 'prod' }),
    method: 'DELETE',
    path: '/v1/secrets/project/app/db_url',
    query: { env: 'prod' },
    answer: { path: 'project/app/db_url', env: 'prod', deleted: true },
    result: { path: 'project/app/db_url', env: 'prod', deleted: true },
  },
  {
    name: 'restoreSecret',
    call: (c) => c.restoreSecret('project/app/db_url'),
    method: 'POST',
    path: '/v1/secrets/project/app/db_url/restore',
    answer: { path: 'project/app/db_url', env: 'dev', restored: true },
    result: { path: 'project/app/db_url', env: 'dev', restored: true },
  },
  {
    name: 'history',
    call: (c) => c.history('project/app/db_url', { env: 'prod' }),
    method: 'GET',
    path: '/v1/secrets/project/app/db_url/history',
    query: { env: 'prod' },
    answer: { path: 'project/app/db_url', env: 'prod', versions: [VERSION] },
    result: { path: 'project/app/db_url', env: 'prod', versions: [VERSION] },
  },
  {
    name: 'verify',
    call: (c) => c.verify('meta/github/token', { env: 'dev' }),
    method: 'GET',
    path: '/v1/secrets/meta/github/token/verify',
    query: { env: 'dev' },
    answer: {
      ok: false,
      checked: 2,
      failures: [{ path: 'meta/github/token', env: 'dev', version: 1, ok: false, code: 'X' }],
      keyFailures: [],
    },
    result: {
      ok: false,
      checked: 2,
      keyFailures: [],
      failures: [{ path: 'meta/github/token', env: 'dev', version: 1, ok: false, code: 'X' }],
    },
  },
  {
    name: 'readProject',
    call: (c) => c.readProject('app', { env: 'staging' }),
    method: 'GET',
    path: '/v1/projects/app/secrets',
    query: { env: 'staging' },
    answer: {
      project: 'app',
      env: 'staging',
      items: [
        {
          path: 'project/app/db_url',
          name: 'db_url',
          envVar: 'DB_URL',
          version: 3,
          value: 'x',
          localOnly: false,
        },
      ],
    },
    result: [
      {
        path: 'project/app/db_url',
        name: 'db_url',
        envVar: 'DB_URL',
        version: 3,
        value: 'x',
        localOnly: false,
      },
    ],
  },
  {
    name: 'audit',
    call: (c) => c.audit({ afterSeq: 6, limit: 10, path: 'project/app/db_url' }),
    method: 'GET',
    path: '/v1/audit',
    query: { afterSeq: '6', limit: '10', path: 'project/app/db_url' },
    answer: { items: [RECORD] },
    result: [RECORD],
  },
  {
    name: 'auditVerify',
    call: (c) => c.auditVerify(),
    method: 'GET',
    path: '/v1/audit/verify',
    answer: { ok: false, checked: 9, firstBroken: { seq: 4, reason: 'hash mismatch' } },
    result: { ok: false, checked: 9, firstBroken: { seq: 4, reason: 'hash mismatch' } },
  },
  {
    name: 'listTokens',
    call: (c) => c.listTokens(),
    method: 'GET',
    path: '/v1/tokens',
    answer: { items: [TOKEN_INFO] },
    result: [TOKEN_INFO],
  },
  {
    name: 'createToken',
    call: (c) => c.createToken({ name: 'ci', allow: ['project/app/*'], caps: ['read'], ttl: '1d' }),
    method: 'POST',
    path: '/v1/tokens',
    body: { name: 'ci', allow: ['project/app/*'], caps: ['read'], ttl: '1d' },
    answer: { name: 'ci', token: 'coffer_new_x', expiresAt: '2025-01-02T00:00:00.000Z' },
    result: { name: 'ci', token: 'coffer_new_x', expiresAt: '2025-01-02T00:00:00.000Z' },
  },
  {
    name: 'revokeToken',
    call: (c) => c.revokeToken('ci deploy'),
    method: 'DELETE',
    path: '/v1/tokens/ci%20deploy',
    answer: { name: 'ci deploy', revoked: true },
    result: { name: 'ci deploy', revoked: true },
  },
  {
    name: 'health',
    call: (c) => c.health(),
    method: 'GET',
    path: '/healthz',
    answer: { ok: true },
    result: { ok: true },
  },
  {
    name: 'openApi',
    call: (c) => c.openApi(),
    method: 'GET',
    path: '/v1/openapi.json',
    answer: { openapi: '3.1.0' },
    result: { openapi: '3.1.0' },
  },
];

describe('createClient: one method per route', () => {
  it.each(CASES)('$name sends the documented request and reads the answer', async (c) => {
    const fetch = fakeFetch(() => ({ body: c.answer }));
    const client = createClient({ url: 'https://coffer.example.com/base/', token: TOKEN, fetch });
    const result = await c.call(client);
    expect(result).toEqual(c.result);
    // Same keys in the same order as documented (so --json output matches local mode).
    expect(JSON.stringify(result)).toBe(JSON.stringify(c.result));
    expect(fetch.seen).toHaveLength(1);
    const req = fetch.seen[0]!;
    expect(req.method).toBe(c.method);
    expect(req.url.origin).toBe('https://coffer.example.com');
    expect(req.url.pathname).toBe(`/base${c.path}`);
    expect(Object.fromEntries(req.url.searchParams)).toEqual(c.query ?? {});
    expect(req.body).toEqual(c.body);
    expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req.init.redirect).toBe('manual');
    if (c.body !== undefined) expect(req.headers['content-type']).toBe('application/json');
  });

  it('accepts a bare record number as firstBroken', async () => {
    const fetch = fakeFetch(() => ({ body: { ok: false, checked: 3, firstBroken: 2 } }));
    const r = await createClient({
      url: 'http://127.0.0.1:8700',
      token: TOKEN,
      fetch,
    }).auditVerify();
    expect(r.firstBroken?.seq).toBe(2);
    expect(r.ok).toBe(false);
  });

  it('checks paths, environments and numbers before sending anything', async () => {
    const fetch = fakeFetch(() => ({ body: {} }));
    const c = createClient({ url: 'http://localhost:8700', token: TOKEN, fetch });
    await expect(c.getSecret('project/CONSILIO/Key')).rejects.toMatchObject({
      code: 'INVALID_PATH',
    });
    await expect(c.getSecret('project/app/../../etc')).rejects.toMatchObject({
      code: 'INVALID_PATH',
    });
    await expect(c.getSecret('project/app/x', { env: 'Prod!' })).rejects.toMatchObject({
      code: 'INVALID_ENV',
    });
    await expect(c.getSecret('project/app/x', { version: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(c.checkSetSecret('project/app/../x')).rejects.toMatchObject({
      code: 'INVALID_PATH',
    });
    await expect(c.checkSetSecret('project/app/x', { env: 'Prod!' })).rejects.toMatchObject({
      code: 'INVALID_ENV',
    });
    await expect(c.readProject('../admin')).rejects.toMatchObject({ code: 'INVALID_PATH' });
    await expect(c.audit({ limit: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(fetch.seen).toHaveLength(0);
  });
});

describe('createClient: audit paging', () => {
  /** A server whose log holds records `seqs` and that reads `scan` records per request. */
  const server = (seqs: number[], scan: number) =>
    fakeFetch((req) => {
      const after = Number(req.url.searchParams.get('afterSeq') ?? 0);
      const limit = Number(req.url.searchParams.get('limit') ?? 100);
      const end = Math.max(...seqs, 0);
      const items = seqs
        .filter((s) => s > after && s <= after + scan)
        .slice(0, limit)
        .map((seq) => ({ ...RECORD, seq }));
      const nextAfterSeq =
        items.length === limit ? items.at(-1)!.seq : after + scan >= end ? null : after + scan;
      return { body: { items, nextAfterSeq } };
    });

  it('audit follows the cursor past short and empty pages to `limit` records', async () => {
    const fetch = server([3, 250, 251, 900], 100);
    const c = createClient({ url: 'http://localhost:8700', token: TOKEN, fetch });
    expect((await c.audit({ limit: 3 })).map((r) => r.seq)).toEqual([3, 250, 251]);
    expect(fetch.seen.map((r) => r.url.searchParams.get('afterSeq'))).toEqual(['0', '100', '200']);
    // Each request asks only for what is still missing.
    expect(fetch.seen.map((r) => r.url.searchParams.get('limit'))).toEqual(['3', '2', '2']);
    fetch.seen.length = 0;
    expect((await c.audit({ afterSeq: 251 })).map((r) => r.seq)).toEqual([900]);
    expect(fetch.seen).toHaveLength(7);
  });

  it('auditPage is one request with its cursor; an older server gets one after its last record', async () => {
    const c = createClient({
      url: 'http://localhost:8700',
      token: TOKEN,
      fetch: server([450], 100),
    });
    expect(await c.auditPage({ afterSeq: 100, limit: 10 })).toEqual({
      items: [],
      nextAfterSeq: 200,
    });
    const older = createClient({
      url: 'http://localhost:8700',
      token: TOKEN,
      fetch: fakeFetch((req) => ({
        body: { items: (req.url.searchParams.get('afterSeq') ?? '0') === '0' ? [RECORD] : [] },
      })),
    });
    expect(await older.auditPage({ limit: 10 })).toEqual({ items: [RECORD], nextAfterSeq: 7 });
    expect(await older.auditPage({ afterSeq: 7 })).toEqual({ items: [], nextAfterSeq: null });
    expect(await older.audit({ limit: 10 })).toEqual([RECORD]);
  });

  it('refuses a cursor that does not move on', async () => {
    for (const nextAfterSeq of [5, 4, 5.5, '9', -1]) {
      const fetch = fakeFetch(() => ({ body: { items: [], nextAfterSeq } }));
      const c = createClient({ url: 'http://localhost:8700', token: TOKEN, fetch });
      await expect(c.audit({ afterSeq: 5 })).rejects.toMatchObject({
        code: 'SERVER_BAD_RESPONSE',
      });
      await expect(c.auditPage({ afterSeq: 5 })).rejects.toMatchObject({
        code: 'SERVER_BAD_RESPONSE',
      });
    }
  });
});
