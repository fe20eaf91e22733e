/**
 * `GET /v1/rotation` in process: the rotation status of what the token may list, names and
 * dates only.
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
  await seed(kit, 'project/app/db_url', 'postgres://prod', 'prod');
  await seed(kit, 'project/other/db_url', SENTINEL);
  await kit.vault.describe('project/app/db_url', 'dev', { rotation: '90d' });
});
afterEach(async () => {
  await kit.dispose();
});

type Item = { path: string; env: string; state: string; policy: string | null };

describe('GET /v1/rotation', () => {
  it('lists every secret the token may list with its state, no value', async () => {
    const a = await kit.send('GET', '/v1/rotation', { token: kit.tokens.list });
    expect(a.status).toBe(200);
    const items = (a.json.items as Item[]).map((i) => [i.path, i.env, i.state, i.policy]);
    expect(items).toEqual([
      ['project/app/db_url', 'prod', 'no-policy', null],
      ['project/other/db_url', 'dev', 'no-policy', null],
      ['project/app/db_url', 'dev', 'ok', '90d'],
    ]);
    expect(a.text).not.toContain(SENTINEL);
    expect(a.text).not.toContain('postgres://');
    const audit = await auditRecords(kit);
    expect(audit.at(-1)).toMatchObject({ action: 'rotation_status', outcome: 'ok' });
  });

  it('narrows to the token globs, environments and the prefix', async () => {
    const app = await kit.send('GET', '/v1/rotation', { token: kit.tokens.app });
    expect((app.json.items as Item[]).every((i) => i.path.startsWith('project/app/'))).toBe(true);
    const dev = await kit.send('GET', '/v1/rotation', { token: kit.tokens.devOnly });
    expect((dev.json.items as Item[]).every((i) => i.env === 'dev')).toBe(true);
    const one = await kit.send('GET', '/v1/rotation?prefix=project/other&dueWithin=7d', {
      token: kit.tokens.list,
    });
    expect((one.json.items as Item[]).map((i) => i.path)).toEqual(['project/other/db_url']);
    expect(one.json.dueWithinDays).toBe(7);
  });

  it('refuses a prefix outside the token, a bad duration and a token without list', async () => {
    expectError(
      await kit.send('GET', '/v1/rotation?prefix=project/other', { token: kit.tokens.app }),
      403,
      'FORBIDDEN',
    );
    expectError(
      await kit.send('GET', '/v1/rotation?dueWithin=soon', { token: kit.tokens.list }),
      400,
      'INVALID_ARGUMENT',
    );
    expectError(await kit.send('GET', '/v1/rotation', { token: kit.tokens.write }), 403);
  });
});

describe('POST /v1/incidents/{path}', () => {
  it('opens an incident as the token, then resumes it; rotation status shows it compromised', async () => {
    const first = await kit.send('POST', '/v1/incidents/project/app/db_url?env=prod', {
      token: kit.tokens.app,
      body: { where: 'printed in the CI log of job 12' },
    });
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ path: 'project/app/db_url', env: 'prod', resumed: false });
    const again = await kit.send('POST', '/v1/incidents/project/app/db_url?env=prod', {
      token: kit.tokens.app,
      body: { where: 'seen again' },
    });
    expect(again.json).toMatchObject({ incident: first.json.incident, resumed: true });
    const status = await kit.send('GET', '/v1/rotation?env=prod', { token: kit.tokens.list });
    const item = (status.json.items as Item[]).find((i) => i.path === 'project/app/db_url');
    expect(item?.state).toBe('compromised');
    expect((status.json.counts as Record<string, number>).compromised).toBe(1);
    const audit = await auditRecords(kit);
    expect(audit.find((r) => r.action === 'incident_open')).toMatchObject({
      actor: expect.stringContaining('token:app'),
      outcome: 'ok',
    });
  });

  it('refuses a token without write, a path outside its globs and a value-less body', async () => {
    const body = { where: 'in a chat' };
    expectError(
      await kit.send('POST', '/v1/incidents/project/app/db_url', { token: kit.tokens.list, body }),
      403,
    );
    expectError(
      await kit.send('POST', '/v1/incidents/project/other/db_url', { token: kit.tokens.app, body }),
      403,
      'FORBIDDEN',
    );
    expectError(
      await kit.send('POST', '/v1/incidents/project/app/db_url', {
        token: kit.tokens.app,
        body: { where: '' },
      }),
      400,
      'INVALID_ARGUMENT',
    );
    expectError(
      await kit.send('POST', '/v1/incidents/project/app/nothing', { token: kit.tokens.app, body }),
      404,
    );
  });
});

describe('POST /v1/file-writes', () => {
  const entry = (path: string, env = 'dev') => ({ path, env, version: 1, name: 'DB_URL' });

  it('records each secret the token may read as a file_write of the token, no value', async () => {
    const a = await kit.send('POST', '/v1/file-writes', {
      token: kit.tokens.app,
      body: {
        file: '/home/dev/app/.env',
        via: 'env pull',
        secrets: [entry('project/app/db_url'), entry('project/other/db_url')],
      },
    });
    expect(a.status).toBe(201);
    // project/other is outside the token's globs: not recorded.
    expect(a.json).toEqual({ recorded: 1 });
    const writes = (await auditRecords(kit)).filter(
      (r) => r.action === 'file_write' && r.path !== null,
    );
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({
      actor: expect.stringContaining('token:app'),
      path: 'project/app/db_url',
      env: 'dev',
    });
    expect(JSON.stringify(writes)).not.toContain(SENTINEL);
  });

  it('refuses a relative file, a bad key path or variable name and a token without read', async () => {
    const send = (token: string, body: unknown) =>
      kit.send('POST', '/v1/file-writes', { token, body });
    const ok = { file: '/srv/.env', via: 'env pull', secrets: [entry('project/app/db_url')] };
    expectError(await send(kit.tokens.list, ok), 403);
    expectError(await send(kit.tokens.read, { ...ok, file: '.env' }), 400, 'INVALID_ARGUMENT');
    expectError(
      await send(kit.tokens.read, { ...ok, secrets: [entry('project/APP/x')] }),
      400,
      'INVALID_PATH',
    );
    expectError(
      await send(kit.tokens.read, {
        ...ok,
        secrets: [{ ...entry('project/app/db_url'), name: 'NOT VALID' }],
      }),
      400,
      'INVALID_ARGUMENT',
    );
    expectError(await send(kit.tokens.read, { ...ok, via: 'x\ny' }), 400, 'INVALID_ARGUMENT');
    // A template's entry names the secret itself by its reference, not another one.
    const { name: _n, ...unnamed } = entry('project/app/db_url');
    for (const reference of ['coffer://project/app/other?env=dev', 'DB_URL'])
      expectError(
        await send(kit.tokens.read, { ...ok, via: 'inject', secrets: [{ ...unnamed, reference }] }),
        400,
      );
    expectError(
      await send(kit.tokens.read, { ...ok, secrets: [unnamed] }),
      400,
      'INVALID_ARGUMENT',
    );
  });

  it('records a template rendered by inject by the reference its output holds', async () => {
    const { name: _n, ...unnamed } = entry('project/app/db_url');
    const reference = 'coffer://project/app/db_url?env=dev';
    const a = await kit.send('POST', '/v1/file-writes', {
      token: kit.tokens.app,
      body: { file: '/srv/app/config.yaml', via: 'inject', secrets: [{ ...unnamed, reference }] },
    });
    expect(a.status).toBe(201);
    const writes = (await auditRecords(kit)).filter(
      (r) => r.action === 'file_write' && r.path !== null,
    );
    expect(JSON.parse(writes.at(-1)!.detail!)).toEqual({
      file: '/srv/app/config.yaml',
      reference,
      via: 'inject',
    });
  });
});
