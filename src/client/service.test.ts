import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fakeFetch, type SeenRequest } from '../../test/helpers/fake-fetch.js';
import type { SecretInfo } from '../core/store/vault.js';
import { createClient } from './client.js';
import { clientSecretsService } from './service.js';

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
    backend: clientSecretsService(createClient({ url: 'http://localhost', token: TOKEN, fetch })),
  };
}

describe('client secrets service (remote mode)', () => {
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

  it('sends each operation as it is (metadata too), without the actor', async () => {
    const item = { ...info('project/app/key'), currentVersion: 1 } as SecretInfo;
    const { fetch, backend } = backendFor((req) => {
      if (req.url.pathname.endsWith('/verify'))
        return { ok: true, checked: 1, failures: [], keyFailures: [] };
      if (req.url.pathname === '/v1/secrets') return { items: [item] };
      if (req.method === 'PUT')
        return { path: 'project/app/key', env: 'prod', version: 2, created: false };
      return {
        path: 'project/app/key',
        env: req.url.searchParams.get('env'),
        version: 1,
        value: 'v',
        description: 'Key of the app service',
        createdAt: '2025-01-01T00:00:00.000Z',
      };
    });
    await backend.set('project/app/key', 'prod', 'value-1', {
      description: 'Key of the app service',
      metadata: { generator: 'base64:32' },
    });
    await backend.get('project/app/key', 'prod', { version: 3 });
    await backend.get('project/app/key', 'dev');
    await backend.list({ prefix: 'project/app', env: 'dev' });
    await backend.info('project/app/key', 'dev');
    await backend.verify('project/app/key', 'staging');
    expect(
      fetch.seen.map((r) => [r.method, r.url.pathname, Object.fromEntries(r.url.searchParams)]),
    ).toEqual([
      ['PUT', '/v1/secrets/project/app/key', { env: 'prod' }],
      ['GET', '/v1/secrets/project/app/key', { env: 'prod', version: '3' }],
      ['GET', '/v1/secrets/project/app/key', { env: 'dev' }],
      ['GET', '/v1/secrets', { prefix: 'project/app', env: 'dev' }],
      ['GET', '/v1/secrets', { prefix: 'project/app', env: 'dev', includeDeleted: 'true' }],
      ['GET', '/v1/secrets/project/app/key/verify', { env: 'staging' }],
    ]);
    expect(fetch.seen[0]!.body).toEqual({
      value: 'value-1',
      description: 'Key of the app service',
      metadata: { generator: 'base64:32' },
    });
  });

  it('passes any value through unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 200 }), async (value) => {
        const { fetch, backend } = backendFor(() => ({
          path: 'project/app/key',
          env: 'dev',
          version: 1,
          created: true,
        }));
        await backend.set('project/app/key', 'dev', value, { allowEmpty: true });
        expect((fetch.seen[0]!.body as { value: string }).value).toBe(value);
      }),
    );
  });
});
