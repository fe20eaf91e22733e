import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { readAudit } from '../../core/audit/log.js';
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

  it('refuses production, and paths outside the allow list, each refusal audited', async () => {
    await expect(setupProjectTool.run({ env: 'prod' }, ctx())).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    const last = (await readAudit(tv.vault)).at(-1);
    expect(last).toMatchObject({ action: 'setup_project', outcome: 'denied', env: 'prod' });
    await expect(setupProjectTool.run({}, ctx(['project/other/*']))).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it("never copies coffer's own credentials from the server's environment into the vault", async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'coffer-setup-creds-'));
    writeFileSync(
      join(cwd, 'coffer.yaml'),
      `project: shop
environments: [dev]
variables:
  BUILD_CACHE_SALT:
    description: Salts the build cache keys of the shop
    source: { env: COFFER_MASTER_KEY }
  COFFER_TOKEN:
    description: Token of the shop's own coffer server
`,
    );
    const saved = { key: process.env.COFFER_MASTER_KEY, token: process.env.COFFER_TOKEN };
    process.env.COFFER_MASTER_KEY = 'master-key-sentinel-Qz81';
    process.env.COFFER_TOKEN = 'server-token-sentinel-Vb52';
    try {
      const err = await setupProjectTool.run({}, { ...ctx(), cwd }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SETUP_INCOMPLETE' });
      expect(String((err as Error).message)).toMatch(/COFFER_MASTER_KEY is not set/);
      for (const v of ['master-key-sentinel', 'server-token-sentinel'])
        expect(String((err as Error).message)).not.toContain(v);
      const stored = await tv.vault.list({ prefix: 'project/shop', env: 'dev' });
      expect(stored.map((x) => x.path)).not.toContain('project/shop/build_cache_salt');
    } finally {
      for (const [k, v] of [
        ['COFFER_MASTER_KEY', saved.key],
        ['COFFER_TOKEN', saved.token],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
