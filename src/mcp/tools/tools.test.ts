/**
 * The tools' logic, called directly (no protocol) on a real SQLite vault: the core's rules,
 * scope checks, reveal policy, idempotent generation, and no value in any answer.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { CofferError } from '../../core/errors.js';
import { localMcpBackend } from '../backend.js';
import { mcpPolicy } from '../policy.js';
import { generateSecretTool, specFor } from './generate-secret-tool.js';
import { getSecretTool } from './get-secret-tool.js';
import { listSecretsTool } from './list-secrets-tool.js';
import { setSecretTool } from './set-secret-tool.js';
import type { RevealPolicy, ToolContext } from './tool.js';
import { verifySecretTool } from './verify-secret-tool.js';

/** list_secrets' output (tools are typed loosely once registered). */
interface Listing {
  secrets?: { keyPath: string; name: string }[];
  projects?: { name: string; secrets: number }[];
}

let tv: TestVault;
beforeAll(async () => {
  tv = await makeTestVault();
});
afterAll(async () => {
  tv.vault.close();
  await tv.storage.close();
});

function ctx(
  options: { allow?: string[]; envs?: string[]; reveal?: RevealPolicy; readOnly?: boolean } = {},
): ToolContext {
  return {
    vault: localMcpBackend(tv.vault, async () => {}).as('mcp:unit/1'),
    policy: mcpPolicy({
      allow: options.allow ?? [],
      envs: options.envs ?? [],
      readOnly: options.readOnly ?? false,
      reveal: options.reveal ?? 'allow',
    }),
    defaultEnv: 'dev',
    cwd: tv.dir,
  };
}

async function failure(p: Promise<unknown>): Promise<CofferError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CofferError)) throw new Error(`expected a CofferError, got ${String(err)}`);
  return err;
}

describe('set_secret / get_secret / verify_secret', () => {
  it('stores, reads back and verifies the seed key, answering with a preview only', async () => {
    const value = 'sk_live_abc123xyz';
    const path = 'project/consilio/stripe_api_key';
    const out = await setSecretTool.run({ keyPath: path, value, description: DESCRIPTION }, ctx());
    expect(out).toEqual({
      keyPath: path,
      env: 'dev',
      version: 1,
      created: true,
      verified: true,
      preview: 'sk…',
    });
    const again = await setSecretTool.run({ keyPath: path, value: `${value}2` }, ctx());
    expect(again).toMatchObject({ version: 2, created: false, verified: true });

    expect(await getSecretTool.run({ keyPath: path }, ctx())).toMatchObject({
      revealed: true,
      value: `${value}2`,
      version: 2,
      description: DESCRIPTION,
    });
    const hidden = await getSecretTool.run({ keyPath: path }, ctx({ reveal: 'never' }));
    expect(hidden).toEqual({
      keyPath: path,
      env: 'dev',
      version: 2,
      description: DESCRIPTION,
      revealed: false,
      preview: 'sk…',
    });
    const verified = await verifySecretTool.run({ keyPath: path }, ctx());
    expect(verified).toMatchObject({ ok: true, checked: 2, failures: [], version: 2 });
    expect(verified.deleted).toBe(false);
  });

  it('applies the core rules: path grammar, description quality, environments', async () => {
    const bad = await failure(
      setSecretTool.run(
        { keyPath: 'project/CONSILIO/Key', value: 'v', description: DESCRIPTION },
        ctx(),
      ),
    );
    expect(bad.code).toBe('INVALID_PATH');
    expect(bad.hint).toContain('project/consilio/key');
    const generic = await failure(
      setSecretTool.run(
        { keyPath: 'project/consilio/key', value: 'v', description: 'API key' },
        ctx(),
      ),
    );
    expect(generic.code).toBe('INVALID_DESCRIPTION');
    expect(generic.hint).toContain('Stripe API key for payment processing');
    const missing = await failure(
      setSecretTool.run({ keyPath: 'project/consilio/key', value: 'v' }, ctx()),
    );
    expect(missing.code).toBe('INVALID_DESCRIPTION');
    const env = await failure(
      getSecretTool.run({ keyPath: 'project/consilio/key', env: 'Prod' }, ctx()),
    );
    expect(env.code).toBe('INVALID_ENV');
    expect(
      (await failure(getSecretTool.run({ keyPath: 'project/consilio/key' }, ctx()))).code,
    ).toBe('SECRET_NOT_FOUND');
  });

  it('refuses key paths outside the scope before touching the vault', async () => {
    const scoped = ctx({ allow: ['project/consilio/*'] });
    for (const run of [
      () =>
        setSecretTool.run(
          { keyPath: 'project/other/key', value: 'v', description: DESCRIPTION },
          scoped,
        ),
      () => getSecretTool.run({ keyPath: 'project/other/key' }, scoped),
      () => verifySecretTool.run({ keyPath: 'meta/cloudflare/api_token' }, scoped),
      () => listSecretsTool.run({ scope: 'project', project: 'other' }, scoped),
    ]) {
      expect((await failure(run())).code).toBe('FORBIDDEN');
    }
    expect((await failure(getSecretTool.run({ keyPath: 'project/other/key' }, ctx()))).code).toBe(
      'SECRET_NOT_FOUND',
    );
  });
});

describe('list_secrets', () => {
  it('lists metadata of a project, and the visible projects, never values', async () => {
    const values = fc.sample(fc.string({ minLength: 12, maxLength: 40 }), 5);
    for (const [i, value] of values.entries()) {
      const group = i % 2 === 0 ? 'listed' : 'hidden';
      await setSecretTool.run(
        {
          keyPath: `project/${group}/key_${i}`,
          value,
          description: `Listing test key number ${i}`,
        },
        ctx(),
      );
    }
    const scoped = ctx({ allow: ['project/listed/*', 'project/consilio/*'] });
    const one = (await listSecretsTool.run(
      { scope: 'project', project: 'listed' },
      scoped,
    )) as Listing;
    expect(one.secrets?.map((s) => s.keyPath)).toEqual([
      'project/listed/key_0',
      'project/listed/key_2',
      'project/listed/key_4',
    ]);
    expect(one.secrets?.[0]).toMatchObject({
      name: 'key_0',
      envVar: 'KEY_0',
      version: 1,
      generator: null,
    });
    const all = (await listSecretsTool.run({ scope: 'project' }, scoped)) as Listing;
    expect(all.projects?.map((p) => p.name).sort()).toEqual(['consilio', 'listed']);
    expect(all.projects?.find((p) => p.name === 'listed')?.secrets).toBe(3);
    const text = JSON.stringify([one, all, await listSecretsTool.run({ scope: 'project' }, ctx())]);
    for (const v of values) expect(text).not.toContain(JSON.stringify(v).slice(1, -1));
    const wrong = await failure(
      listSecretsTool.run({ scope: 'project', project: 'Listed' }, ctx()),
    );
    expect(wrong.code).toBe('INVALID_PATH');
    expect(wrong.hint).toContain('project/listed');
  });
});

describe('generate_secret', () => {
  it('generates once, then keeps the value; answers never hold it', async () => {
    const path = 'project/consilio/jwt_secret';
    const first = await generateSecretTool.run(
      {
        keyPath: path,
        description: 'JWT signing secret for authentication',
        kind: 'hex',
        length: 24,
      },
      ctx(),
    );
    expect(first).toEqual({
      keyPath: path,
      env: 'dev',
      action: 'generated',
      version: 1,
      generator: 'hex:24',
      envVar: 'JWT_SECRET',
    });
    const { value } = await tv.vault.get(path, 'dev');
    expect(value).toMatch(/^[0-9a-f]{48}$/);
    const second = await generateSecretTool.run(
      { keyPath: path, description: 'JWT signing secret for authentication' },
      ctx(),
    );
    expect(second).toMatchObject({ action: 'kept', version: 1, generator: 'hex:24' });
    expect((await tv.vault.get(path, 'dev')).value).toBe(value);
    expect(JSON.stringify([first, second])).not.toContain(value);
  });

  it('maps kind and length onto the generators and their limits', async () => {
    expect(specFor('base64', 48)).toEqual({ kind: 'base64', bytes: 48 });
    expect(specFor('password', 30)).toEqual({ kind: 'password', length: 30 });
    expect(specFor('fernet', undefined)).toEqual({ kind: 'fernet' });
    expect(() => specFor('uuid', 16)).toThrow(/length does not apply/);
    const weak = await failure(
      generateSecretTool.run(
        {
          keyPath: 'project/consilio/short_key',
          description: 'Short key that is refused',
          kind: 'hex',
          length: 4,
        },
        ctx(),
      ),
    );
    expect(weak.code).toBe('INVALID_ARGUMENT');
    // The hint names the tool's own argument, not a library option.
    expect(weak.hint).toBe('Use length 8 or more, or leave length out for the default.');
    const scoped = ctx({ allow: ['project/consilio/*'] });
    expect(
      (
        await failure(
          generateSecretTool.run(
            { keyPath: 'project/other/new_key', description: 'Signing key for the other project' },
            scoped,
          ),
        )
      ).code,
    ).toBe('FORBIDDEN');
  });
});

describe('the same rules as the CLI', () => {
  it('generate_secret refuses a deleted secret instead of reviving it with a new value', async () => {
    const path = 'project/consilio/deleted_key';
    const description = 'Signing key of the consilio webhooks';
    await generateSecretTool.run({ keyPath: path, description }, ctx());
    const before = (await tv.vault.get(path, 'dev')).value;
    await tv.vault.delete(path, 'dev');
    const err = await failure(generateSecretTool.run({ keyPath: path, description }, ctx()));
    expect(err.code).toBe('SECRET_DELETED');
    const info = await tv.vault.info(path, 'dev');
    expect(info.currentVersion).toBe(1);
    expect(info.deletedAt).not.toBeNull();
    await tv.vault.restore(path, 'dev');
    expect((await tv.vault.get(path, 'dev')).value).toBe(before);
  });

  it('set_secret refuses an empty value unless allowEmpty', async () => {
    const path = 'project/consilio/empty_value';
    const description = 'Optional proxy setting of the consilio app';
    const err = await failure(setSecretTool.run({ keyPath: path, value: '', description }, ctx()));
    expect(err.code).toBe('EMPTY_VALUE');
    await expect(tv.vault.get(path, 'dev')).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
    const ok = await setSecretTool.run(
      { keyPath: path, value: '', description, allowEmpty: true },
      ctx(),
    );
    expect(ok).toMatchObject({ version: 1, created: true, verified: true });
  });
});

describe('audit', () => {
  it('records the MCP actor for tool calls', async () => {
    const records = await tv.storage.transaction('read', (tx) => tx.listAudit({ limit: 1000 }));
    const sets = records.filter(
      (r) => r.action === 'set' && r.path === 'project/consilio/stripe_api_key',
    );
    expect(sets.map((r) => r.actor)).toEqual(['mcp:unit/1', 'mcp:unit/1']);
  });
});
