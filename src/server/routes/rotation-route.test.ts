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
