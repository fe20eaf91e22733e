import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { localMcpBackend } from '../backend.js';
import { mcpPolicy } from '../policy.js';
import { manifestStatusTool } from './manifest-status-tool.js';
import type { ToolContext } from './tool.js';

let tv: TestVault;
let dir: string;
beforeAll(async () => {
  tv = await makeTestVault();
  dir = mkdtempSync(join(tmpdir(), 'coffer-manifest-status-'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(
    join(dir, 'coffer.yaml'),
    `project: shop
variables:
  STRIPE_KEY:
    description: Stripe secret key the checkout service charges cards with
    tier: 2
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
  await tv.vault.set('project/shop/stripe_key', 'dev', 'sk_test_never_returned_1', {
    description: DESCRIPTION,
  });
  await tv.vault.set('project/shop/old_token', 'dev', 'never-returned-2', {
    description: DESCRIPTION,
  });
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
    cwd: join(dir, 'src'),
  };
}

describe('manifest_status', () => {
  it('lists the variables with their status and the unmanaged secrets, never a value', async () => {
    const out = await manifestStatusTool.run({}, ctx());
    expect(out).toMatchObject({
      project: 'shop',
      env: 'dev',
      missing: ['JWT_SECRET'],
      unmanaged: ['project/shop/old_token'],
    });
    const status = Object.fromEntries(
      (out.variables as { name: string; status: string }[]).map((v) => [v.name, v.status]),
    );
    expect(status).toEqual({ STRIPE_KEY: 'stored', JWT_SECRET: 'missing', SHOP_URL: 'plain' });
    expect(JSON.stringify(out)).not.toMatch(/never-returned|sk_test|shop\.example/);
  });

  it('finds a shared meta/ secret the manifest names, when the allow list lets it see it', async () => {
    const other = mkdtempSync(join(tmpdir(), 'coffer-manifest-status-meta-'));
    writeFileSync(
      join(other, 'coffer.yaml'),
      `project: shop
variables:
  API_TOKEN:
    description: Cloudflare API token the deploy script purges the cache with
    path: meta/cloudflare/api_token
`,
    );
    await tv.vault.set('meta/cloudflare/api_token', 'dev', 'never-returned-3', {
      description: DESCRIPTION,
    });
    await expect(manifestStatusTool.run({}, { ...ctx(), cwd: other })).resolves.toMatchObject({
      missing: [],
      variables: [{ name: 'API_TOKEN', status: 'stored' }],
    });
    const only = { ...ctx(['project/shop/*']), cwd: other };
    await expect(manifestStatusTool.run({}, only)).resolves.toMatchObject({
      missing: ['API_TOKEN'],
    });
  });

  it('is refused (and audited) outside the server allow list', async () => {
    await expect(manifestStatusTool.run({}, ctx(['project/other/*']))).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('takes its environment rule from the manifest: an unlisted one is refused with a suggestion', async () => {
    const other = mkdtempSync(join(tmpdir(), 'coffer-manifest-status-envs-'));
    writeFileSync(
      join(other, 'coffer.yaml'),
      `project: shop
environments: [dev, prod]
variables:
  STRIPE_KEY:
    description: Stripe secret key the checkout service charges cards with
`,
    );
    const c = { ...ctx(), cwd: other };
    await expect(manifestStatusTool.run({ env: 'production' }, c)).rejects.toMatchObject({
      code: 'INVALID_ENV',
      hint: expect.stringContaining('prod'),
    });
    await expect(manifestStatusTool.run({ env: 'prod' }, c)).resolves.toMatchObject({
      env: 'prod',
      missing: ['STRIPE_KEY'],
    });
  });

  it("calls that name no env use the server's default, by the CLI's rule (its --env and COFFER_ENV before the file's env:)", async () => {
    const other = mkdtempSync(join(tmpdir(), 'coffer-manifest-status-default-'));
    writeFileSync(
      join(other, 'coffer.yaml'),
      `project: shop
env: prod
variables:
  STRIPE_KEY:
    description: Stripe secret key the checkout service charges cards with
`,
    );
    // The server computed its default from the same file when nothing else chose (mcp-command).
    expect(
      await manifestStatusTool.run({}, { ...ctx(), cwd: other, defaultEnv: 'prod' }),
    ).toMatchObject({ env: 'prod' });
    expect(
      await manifestStatusTool.run({}, { ...ctx(), cwd: other, defaultEnv: 'staging' }),
    ).toMatchObject({ env: 'staging' });
  });
});
