import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { localMcpBackend } from '../backend.js';
import { mcpPolicy } from '../policy.js';
import { rotationStatusTool } from './rotation-status-tool.js';
import type { ToolContext } from './tool.js';

let tv: TestVault;
beforeAll(async () => {
  tv = await makeTestVault();
  const d = { description: DESCRIPTION, metadata: { rotation: '90d' } };
  await tv.vault.set('project/shop/stripe_key', 'dev', 'sk_test_never_returned_1', d);
  await tv.vault.set('project/shop/stripe_key', 'prod', 'sk_live_never_returned_2', d);
  await tv.vault.set('project/other/token', 'dev', 'never-returned-3', d);
});
afterAll(async () => {
  tv.vault.close();
  await tv.storage.close();
});

function ctx(allow: string[] = [], envs: string[] = []): ToolContext {
  return {
    vault: localMcpBackend(tv.vault, async () => {}).as('mcp:unit/1'),
    policy: mcpPolicy({ allow, envs, readOnly: true, reveal: 'never' }),
    defaultEnv: 'dev',
    cwd: tv.dir,
  };
}

describe('rotation_status', () => {
  it('reports what the server may see, never a value', async () => {
    const out = await rotationStatusTool.run({}, ctx(['project/shop/*'], ['dev']));
    expect(out.items).toEqual([
      expect.objectContaining({
        keyPath: 'project/shop/stripe_key',
        env: 'dev',
        state: 'ok',
        policy: '90d',
        neverRotated: true,
      }),
    ]);
    expect(JSON.stringify(out)).not.toMatch(/never-returned/);
    const all = (await rotationStatusTool.run({ dueWithin: '120d' }, ctx())) as {
      items: { state: string }[];
    };
    expect(all.items).toHaveLength(3);
    expect(all.items.every((i) => i.state === 'due-soon')).toBe(true);
  });

  it('is refused (and audited) for a project outside the allow list', async () => {
    await expect(
      rotationStatusTool.run({ project: 'other' }, ctx(['project/shop/*'])),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const audit = await tv.storage.transaction('read', (tx) =>
      tx.listAudit({ descending: true, limit: 1 }),
    );
    expect(audit[0]).toMatchObject({ action: 'rotation_status', outcome: 'denied' });
  });
});
