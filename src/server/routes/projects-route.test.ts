/**
 * `GET /v1/projects/{project}/secrets` in process: what `coffer run` and `env pull` inject,
 * narrowed to the token's globs, each value read audited as the token.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  auditRecords,
  expectError,
  type Kit,
  makeKit,
  SENTINEL,
  seed,
} from '../../../test/helpers/server-kit.js';

let kit: Kit;
beforeEach(async () => {
  kit = await makeKit();
  await seed(kit, 'project/app/db_url', 'postgres://app');
  await seed(kit, 'project/app/api_key', 'key-app');
  await seed(kit, 'project/app/db_url', 'postgres://prod', 'prod');
  await seed(kit, 'project/other/db_url', SENTINEL);
});
afterEach(async () => {
  await kit.dispose();
});

type Item = { path: string; name: string; envVar: string; value: string; version: number };

describe('GET /v1/projects/{project}/secrets', () => {
  it('answers every live secret of the project in the environment, with values', async () => {
    const a = await kit.send('GET', '/v1/projects/app/secrets', { token: kit.tokens.read });
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ project: 'app', env: 'dev' });
    const items = (a.json.items as Item[]).map((i) => [i.path, i.name, i.envVar, i.value]).sort();
    expect(items).toEqual([
      ['project/app/api_key', 'api_key', 'API_KEY', 'key-app'],
      ['project/app/db_url', 'db_url', 'DB_URL', 'postgres://app'],
    ]);
    const prod = await kit.send('GET', '/v1/projects/app/secrets?env=prod', {
      token: kit.tokens.read,
    });
    expect((prod.json.items as Item[]).map((i) => i.value)).toEqual(['postgres://prod']);
    const reads = (await auditRecords(kit)).filter((r) => r.action === 'get');
    expect(reads).toHaveLength(3);
    expect(new Set(reads.map((r) => r.actor))).toEqual(new Set(['token:reader@127.0.0.1']));
  });

  it('a token limited to project/app/* reads its own project', async () => {
    const a = await kit.send('GET', '/v1/projects/app/secrets', { token: kit.tokens.app });
    expect(a.status).toBe(200);
    expect((a.json.items as Item[]).map((i) => i.path).sort()).toEqual([
      'project/app/api_key',
      'project/app/db_url',
    ]);
  });

  it('opens only the key paths a narrower glob allows', async () => {
    const token = await kit.token({ name: 'db-only', allow: ['project/*/db_*'], caps: ['read'] });
    const a = await kit.send('GET', '/v1/projects/app/secrets', { token });
    expect(a.status).toBe(200);
    expect((a.json.items as Item[]).map((i) => i.path)).toEqual(['project/app/db_url']);
    const reads = (await auditRecords(kit)).filter((r) => r.action === 'get');
    expect(reads.map((r) => r.path)).toEqual(['project/app/db_url']);
  });

  it('an unknown project or environment is 404, naming what exists that the token may see', async () => {
    const none = await kit.send('GET', '/v1/projects/ap/secrets', { token: kit.tokens.read });
    expectError(none, 404, 'PROJECT_NOT_FOUND');
    expect(none.json.message).toContain('did you mean app?');
    expect(none.json.message).toContain('(projects: app, other)');
    const env = await kit.send('GET', '/v1/projects/app/secrets?env=production', {
      token: kit.tokens.read,
    });
    expectError(env, 404, 'ENVIRONMENT_NOT_FOUND');
    expect(env.json.message).toContain('did you mean prod?');
    expect(env.json.message).toContain('(its environments: dev, prod)');
    // A token for project/app/* in dev only names neither project other nor environment prod.
    const narrow = await kit.token({
      name: 'app-dev',
      allow: ['project/app/*'],
      envs: ['dev', 'staging'],
      caps: ['read'],
    });
    const staging = await kit.send('GET', '/v1/projects/app/secrets?env=staging', {
      token: narrow,
    });
    expectError(staging, 404, 'ENVIRONMENT_NOT_FOUND');
    expect(staging.json.message).toContain('(its environments: dev)');
    expect(staging.json.message).not.toContain('prod');
    const unknown = await kit.send('GET', '/v1/projects/app/secrets?env=staging', {
      token: kit.tokens.app,
    });
    expect(unknown.json.message).not.toContain('other');
    // Refusals are audited as not found; no value was read.
    const records = await auditRecords(kit);
    expect(records.filter((r) => r.action === 'get')).toEqual([]);
    expect(records.filter((r) => r.outcome === 'not_found').length).toBe(4);
  });

  it('403 without read, for a project outside the globs, for an environment not granted', async () => {
    for (const token of [kit.tokens.list, kit.tokens.write, kit.tokens.delete]) {
      const a = await kit.send('GET', '/v1/projects/app/secrets', { token });
      expectError(a, 403, 'FORBIDDEN');
    }
    const other = await kit.send('GET', '/v1/projects/other/secrets', { token: kit.tokens.app });
    expectError(other, 403, 'FORBIDDEN');
    const env = await kit.send('GET', '/v1/projects/app/secrets?env=prod', {
      token: kit.tokens.devOnly,
    });
    expectError(env, 403, 'FORBIDDEN');
    const denied = (await auditRecords(kit)).filter((r) => r.outcome === 'denied');
    expect(denied.map((r) => [r.actor, r.action, r.path, r.env])).toEqual([
      ['token:lister@127.0.0.1', 'read_project', 'project/app', 'dev'],
      ['token:writer@127.0.0.1', 'read_project', 'project/app', 'dev'],
      ['token:deleter@127.0.0.1', 'read_project', 'project/app', 'dev'],
      ['token:app@127.0.0.1', 'read_project', 'project/other', 'dev'],
      ['token:dev-only@127.0.0.1', 'read_project', 'project/app', 'prod'],
    ]);
  });

  it('400 for a bad project name or environment; 401 for expired and revoked tokens', async () => {
    const t = { token: kit.tokens.read };
    expectError(await kit.send('GET', '/v1/projects/App/secrets', t), 400, 'INVALID_PATH');
    expectError(await kit.send('GET', '/v1/projects/app/secrets?env=P', t), 400, 'INVALID_ENV');
    expectError(await kit.send('GET', '/v1/projects/app/secrets?x=1', t), 400, 'INVALID_ARGUMENT');
    for (const token of [kit.tokens.expired, kit.tokens.revoked]) {
      const a = await kit.send('GET', '/v1/projects/app/secrets', { token });
      expectError(a, 401, 'UNAUTHENTICATED');
    }
  });
});
