import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { localMcpBackend } from '../backend.js';
import { mcpPolicy } from '../policy.js';
import { setupProjectTool } from './setup-project-tool.js';
import type { ToolContext } from './tool.js';

let tv: TestVault;
let dir: string;
beforeAll(async () => {
  tv = await makeTestVault();
  dir = mkdtempSync(join(tmpdir(), 'coffer-setup-project-'));
  writeFileSync(
    join(dir, 'coffer.yaml'),
    `project: shop
environments: [dev, prod]
variables:
  JWT_SECRET:
    description: Signs the shop's session tokens
    tier: 1
    source: { generate: "hex:32" }
  SHOP_URL:
    description: Public base URL of the shop front end
    sensitive: false
    source: { value: "https://shop.example" }
`,
  );
});
afterAll(async () => {
  tv.vault.close();
  await tv.storage.close();
});

function ctx(allow: string[] = []): ToolContext {
  return {
    vault: localMcpBackend(tv.vault, async () => {}).as('mcp:unit/1'),
    policy: mcpPolicy({ allow, envs: [], readOnly: false, reveal: 'never' }),
    defaultEnv: 'dev',
    cwd: dir,
  };
}

describe('setup_project', () => {
  it('generates what is missing in dev, names only, and keeps it on a second call', async () => {
    const first = await setupProjectTool.run({}, ctx());
    expect(first.steps).toEqual([
      { name: 'JWT_SECRET', keyPath: 'project/shop/jwt_secret', action: 'generate' },
      { name: 'SHOP_URL', keyPath: 'project/shop/shop_url', action: 'value' },
    ]);
    const value = (await tv.vault.get('project/shop/jwt_secret', 'dev')).value;
    expect(value).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(first)).not.toContain(value);
    const second = await setupProjectTool.run({}, ctx());
    expect((second.steps as { action: string }[])[0]).toMatchObject({ action: 'keep' });
    expect((await tv.vault.get('project/shop/jwt_secret', 'dev')).value).toBe(value);
  });

  it('refuses production, and paths outside the allow list', async () => {
    await expect(setupProjectTool.run({ env: 'prod' }, ctx())).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(setupProjectTool.run({}, ctx(['project/other/*']))).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });
});
