import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fakeFetch, type SeenRequest } from '../../test/helpers/fake-fetch.js';
import { createClient } from '../client/client.js';
import { openRemoteBackend, remoteBackend } from './remote-backend.js';

const TOKEN = 'coffer_id1_q0DPm6bH4vXc1nKz8sY2fLwR9aTeJ5uGhB7iNoVdE3x';

function record(seq: number, path: string | null = 'project/app/key') {
  return {
    seq,
    ts: '2025-01-01T00:00:00.000Z',
    actor: 'token:ci',
    action: 'get',
    path,
    env: 'dev',
    version: 1,
    outcome: 'ok',
    detail: null,
    prevHash: `h${seq - 1}`,
    hash: `h${seq}`,
  };
}

function info(path: string, env = 'dev', deletedAt: string | null = null) {
  return {
    path,
    env,
    description: 'Database URL of the app',
    currentVersion: 3,
    tier: null,
    rotation: null,
    envVar: 'DATABASE_URL',
    localOnly: false,
    generator: null,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    deletedAt,
  };
}

function backendFor(handler: (req: SeenRequest) => unknown) {
  const fetch = fakeFetch((req) => ({ body: handler(req) }));
  return {
    fetch,
    backend: remoteBackend(createClient({ url: 'http://localhost', token: TOKEN, fetch })),
  };
}

describe('remote backend', () => {
  it('audit keeps the newest `limit` records of a log read page by page after seq N', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2600 }),
        fc.integer({ min: 1, max: 300 }),
        async (total, limit) => {
          const { fetch, backend } = backendFor((req) => {
            const after = Number(req.url.searchParams.get('afterSeq'));
            const max = Number(req.url.searchParams.get('limit'));
            const items = [];
            for (let s = after + 1; s <= Math.min(total, after + max); s++) items.push(record(s));
            return { items };
          });
          const got = await backend.audit({ limit });
          const want = Math.min(total, limit);
          expect(got.map((r) => r.seq)).toEqual(
            Array.from({ length: want }, (_, i) => total - want + 1 + i),
          );
          expect(fetch.seen.length).toBe(Math.ceil(total / 1000) + 1);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('audit passes the path filter and stops when the server repeats itself', async () => {
    const { fetch, backend } = backendFor(() => ({ items: [record(1, 'meta/x/y')] }));
    const got = await backend.audit({ path: 'meta/x/y' });
    expect(got).toHaveLength(1);
    expect(fetch.seen.map((r) => r.url.searchParams.get('path'))).toEqual(['meta/x/y', 'meta/x/y']);
  });

  it('info and history find the secret in its group, deleted ones included', async () => {
    const { fetch, backend } = backendFor((req) =>
      req.url.pathname === '/v1/secrets'
        ? { items: [info('project/app/other'), info('project/app/db_url', 'prod', '2025-02-01')] }
        : { path: 'project/app/db_url', env: 'prod', versions: [] },
    );
    const h = await backend.history('project/app/db_url', 'prod');
    expect(h.secret.deletedAt).toBe('2025-02-01');
    expect(h.secret.currentVersion).toBe(3);
    const list = fetch.seen.find((r) => r.url.pathname === '/v1/secrets')!;
    expect(Object.fromEntries(list.url.searchParams)).toEqual({
      prefix: 'project/app',
      env: 'prod',
      includeDeleted: 'true',
    });
    await expect(backend.info('project/app/missing', 'prod')).rejects.toMatchObject({
      code: 'SECRET_NOT_FOUND',
      message: 'no secret project/app/missing in environment prod',
    });
  });

  it('maps audit verify to the local result shape', async () => {
    const { backend } = backendFor(() => ({
      ok: false,
      checked: 12,
      firstBroken: { seq: 5, reason: 'hash mismatch' },
    }));
    expect(await backend.auditVerify()).toEqual({
      ok: false,
      records: 12,
      problem: { seq: 5, reason: 'hash mismatch' },
      acknowledged: [],
    });
  });

  it('refuses what the API cannot do, without a request', async () => {
    const { fetch, backend } = backendFor(() => ({}));
    expect(() => backend.list({ prefix: 'project' })).toThrow(/--all-envs is not available/);
    expect(() => backend.verify(undefined, undefined)).toThrow(/--all is not available/);
    expect(fetch.seen).toHaveLength(0);
  });

  it('verify without --env checks the default environment', async () => {
    const { fetch, backend } = backendFor(() => ({
      ok: true,
      checked: 1,
      failures: [],
      keyFailures: [],
    }));
    const saved = process.env.COFFER_ENV;
    process.env.COFFER_ENV = 'staging';
    try {
      await backend.verify('project/app/db_url', undefined);
    } finally {
      if (saved === undefined) delete process.env.COFFER_ENV;
      else process.env.COFFER_ENV = saved;
    }
    expect(fetch.seen[0]!.url.searchParams.get('env')).toBe('staging');
  });

  it('needs COFFER_TOKEN and refuses clear-text http to another host', () => {
    expect(() => openRemoteBackend({ COFFER_URL: 'http://127.0.0.1:8700' })).toThrow(
      expect.objectContaining({ code: 'UNAUTHENTICATED' }),
    );
    expect(() => openRemoteBackend({ COFFER_URL: 'http://10.1.2.3', COFFER_TOKEN: TOKEN })).toThrow(
      /clear text/,
    );
    expect(
      openRemoteBackend({
        COFFER_URL: 'http://10.1.2.3',
        COFFER_TOKEN: TOKEN,
        COFFER_INSECURE_HTTP: '1',
      }).remote,
    ).toBe(true);
  });
});
