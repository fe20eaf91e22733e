import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fakeFetch, type SeenRequest } from '../../test/helpers/fake-fetch.js';
import { auditRecords, DESCRIPTION, makeKit } from '../../test/helpers/server-kit.js';
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

  it('audit goes on past empty pages while the server gives a cursor', async () => {
    // A server that reads 100 records per request of a log of 1000 where the token sees two.
    const { fetch, backend } = backendFor((req) => {
      const after = Number(req.url.searchParams.get('afterSeq'));
      const items = [150, 720].filter((s) => s > after && s <= after + 100).map((s) => record(s));
      return { items, nextAfterSeq: after + 100 >= 1000 ? null : after + 100 };
    });
    expect((await backend.audit({ limit: 5 })).map((r) => r.seq)).toEqual([150, 720]);
    expect(fetch.seen).toHaveLength(10);
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

describe('checkSet in remote mode (what `coffer set` asks before the hidden prompt)', () => {
  const PATH = 'project/app/db_url';

  it('asks the check-set route with the options of the set, never a value', async () => {
    const { fetch, backend } = backendFor((req) => ({
      path: PATH,
      env: req.url.searchParams.get('env'),
      checked: true,
    }));
    await backend.checkSet!(PATH, 'prod', { description: 'Key of the app service', ifVersion: 0 });
    await backend.checkSet!(PATH, 'dev');
    expect(
      fetch.seen.map((r) => [r.method, r.url.pathname, Object.fromEntries(r.url.searchParams)]),
    ).toEqual([
      ['POST', `/v1/secrets/${PATH}/check-set`, { env: 'prod' }],
      ['POST', `/v1/secrets/${PATH}/check-set`, { env: 'dev' }],
    ]);
    expect(fetch.seen.map((r) => r.body)).toEqual([
      { description: 'Key of the app service', ifVersion: 0 },
      {},
    ]);
  });

  it("rejects with the server's refusal; passes on a server without the route (ROUTE_NOT_FOUND) only", async () => {
    const answer = (status: number, code: string, message: string) => {
      const fetch = fakeFetch(() => ({ status, body: { code, message, requestId: 'r1' } }));
      return clientSecretsService(createClient({ url: 'http://localhost', token: TOKEN, fetch }));
    };
    const refusals: [number, string][] = [
      [400, 'INVALID_DESCRIPTION'],
      [409, 'VERSION_CONFLICT'],
      [403, 'FORBIDDEN'],
      [401, 'UNAUTHENTICATED'],
      [404, 'SECRET_NOT_FOUND'],
      [500, 'INTERNAL'],
    ];
    for (const [status, code] of refusals) {
      await expect(answer(status, code, 'refused').checkSet!(PATH, 'dev')).rejects.toMatchObject({
        code,
        message: 'refused (request id r1)',
      });
    }
    // An older server: no such route. The set itself is checked when it is sent.
    const older = answer(404, 'ROUTE_NOT_FOUND', 'no such route; see GET /v1/openapi.json');
    await expect(older.checkSet!(PATH, 'dev')).resolves.toBeUndefined();
    // A 404 that is not a coffer answer (a proxy's page) is no proof of an older server.
    const fetch = fakeFetch(() => ({ status: 404, text: '<html>Not Found</html>' }));
    const proxy = clientSecretsService(
      createClient({ url: 'http://localhost', token: TOKEN, fetch }),
    );
    await expect(proxy.checkSet!(PATH, 'dev')).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
  });

  it('against the server (in process): refuses what the local vault refuses, with the same code and message, within the token', async () => {
    const kit = await makeKit();
    try {
      const remote = (token: string) =>
        clientSecretsService(
          createClient({
            url: 'http://127.0.0.1:8700',
            token,
            fetch: (url, init) =>
              Promise.resolve(
                kit.app.request(String(url), init as RequestInit, {
                  incoming: { socket: { remoteAddress: '127.0.0.1' } },
                }),
              ),
          }),
        );
      const writer = remote(kit.tokens.write);
      const same = async (path: string, o: { description?: string; ifVersion?: number }) => {
        const local = await kit.vault.checkSet(path, 'dev', o).then(
          () => 'passed',
          (e: { code: string; message: string }) => `${e.code}: ${e.message}`,
        );
        const got = await writer.checkSet!(path, 'dev', o).then(
          () => 'passed',
          (e: { code: string; message: string }) =>
            `${e.code}: ${e.message.replace(/ \(request id [^)]+\)$/, '')}`,
        );
        expect(got).toBe(local);
        return got;
      };
      expect(await same(PATH, {})).toBe(
        `INVALID_DESCRIPTION: a description is required to create ${PATH}`,
      );
      expect(await same(PATH, { description: DESCRIPTION, ifVersion: 2 })).toMatch(
        /^VERSION_CONFLICT: /,
      );
      expect(await same(PATH, { description: DESCRIPTION })).toBe('passed');
      await kit.vault.set(PATH, 'dev', 'v1', { description: DESCRIPTION });
      expect(await same(PATH, {})).toBe('passed');
      expect(await same(PATH, { ifVersion: 1 })).toBe('passed');
      expect(await same(PATH, { ifVersion: 0 })).toMatch(/^VERSION_CONFLICT: /);
      // A token that may not write there is refused before any value, audited by the server.
      await expect(
        remote(kit.tokens.app).checkSet!('project/other/db_url', 'dev', {
          description: DESCRIPTION,
        }),
      ).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(remote(kit.tokens.read).checkSet!(PATH, 'dev')).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
      const denied = (await auditRecords(kit)).filter((r) => r.outcome === 'denied');
      expect(denied.map((r) => [r.actor, r.action, r.path, r.detail])).toEqual([
        ['token:app@127.0.0.1', 'set', 'project/other/db_url', 'path not allowed'],
        ['token:reader@127.0.0.1', 'set', PATH, 'capability write not granted'],
      ]);
      expect((await kit.vault.get(PATH, 'dev')).version).toBe(1);
    } finally {
      await kit.dispose();
    }
  });
});
