/**
 * The local SecretsService: `vault.as(actor, policy)` acts as `actor` in every audit record;
 * with a policy each call is decided by core/access first (a refusal audited as `denied`,
 * thrown as FORBIDDEN, nothing read or written), and listings and project reads are bounded
 * by it. Without a policy it is the vault itself.
 */
import { describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault } from '../../../test/helpers/vault.js';
import { AccessPolicy } from '../access/policy.js';
import { readAudit } from '../audit/log.js';

const APP = 'project/app/api_key';
const OTHER = 'project/other/api_key';

async function seeded() {
  const tv = await makeTestVault('cli:owner');
  for (const [path, env] of [
    [APP, 'dev'],
    [APP, 'prod'],
    [OTHER, 'dev'],
  ] as const) {
    await tv.vault.set(path, env, `value-of-${path}-${env}`, { description: DESCRIPTION });
  }
  const policy = new AccessPolicy(
    { allow: ['project/app/*'], envs: ['dev'], caps: ['read', 'list'] },
    'this agent',
  );
  return { ...tv, policy };
}

const last = async (vault: Parameters<typeof readAudit>[0]) => (await readAudit(vault)).at(-1)!;

describe('local secrets service', () => {
  it('acts as its actor, with no policy as the vault itself', async () => {
    const { vault } = await seeded();
    const s = vault.as('mcp:agent/1');
    expect(s.remote).toBe(false);
    expect((await s.get(APP, 'prod')).value).toBe(`value-of-${APP}-prod`);
    expect(await last(vault)).toMatchObject({ actor: 'mcp:agent/1', action: 'get', path: APP });
    expect((await s.list({ env: 'dev' })).map((i) => i.path).sort()).toEqual([APP, OTHER]);
    expect(vault.as(vault.actor).remote).toBe(false);
  });

  it('refuses outside its policy with one denied record, before the vault is used', async () => {
    const { vault, policy } = await seeded();
    const s = vault.as('mcp:agent/1', policy);
    for (const [call, target] of [
      [() => s.get(OTHER, 'dev'), { path: OTHER, env: 'dev', detail: 'path not allowed' }],
      [() => s.get(APP, 'prod'), { path: APP, env: 'prod', detail: 'environment not allowed' }],
      [
        () => s.set(APP, 'dev', 'new-value-1'),
        { path: APP, env: 'dev', detail: 'capability write not granted' },
      ],
      [() => s.audit(), { path: null, env: null, detail: 'capability admin not granted' }],
    ] as const) {
      const before = (await readAudit(vault)).length;
      await expect(call()).rejects.toMatchObject({ code: 'FORBIDDEN' });
      const records = await readAudit(vault, { limit: 1000 });
      expect(records.length).toBe(before + 1);
      expect(records.at(-1)).toMatchObject({ actor: 'mcp:agent/1', outcome: 'denied', ...target });
    }
    expect((await vault.get(APP, 'dev')).version).toBe(1);
  });

  it('attack: a writer may store a reference only to what it may read with its value', async () => {
    const { vault } = await seeded();
    // Write on app only, read nothing: the confused-deputy case (export resolves with the
    // owner's access and would send other's key to app's deploy target).
    const writer = vault.as(
      'token:app-writer',
      new AccessPolicy(
        { allow: ['project/app/*'], envs: [], caps: ['write', 'list'] },
        'this token',
      ),
    );
    for (const value of [
      `https://hooks.example/{{ coffer://${OTHER} }}`,
      `coffer://${OTHER}`,
      `{{ coffer://${APP} }}`, // its own project, but it may not read it
      `x {{ coffer://project/$\{TEAM}/api_key }}`, // cannot be checked before the reader expands it
      'x {{ coffer://Project/Bad }}',
    ]) {
      const before = (await readAudit(vault)).length;
      await expect(
        writer.set('project/app/notify_url', 'dev', value, { description: DESCRIPTION }),
      ).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
      const records = await readAudit(vault, { limit: 1000 });
      expect(records.length).toBe(before + 1);
      expect(records.at(-1)).toMatchObject({ outcome: 'denied', path: 'project/app/notify_url' });
    }
    // Read with reveal on what it names: stored; a plain value needs nothing more.
    const reader = vault.as(
      'token:app-team',
      new AccessPolicy(
        { allow: ['project/app/*'], envs: [], caps: ['read', 'write', 'list'] },
        'this token',
      ),
    );
    const derived = `postgres://app:{{ coffer://${APP} }}@db/app`;
    await reader.set('project/app/database_url', 'dev', derived, { description: DESCRIPTION });
    await writer.set('project/app/plain', 'dev', 'no references', { description: DESCRIPTION });
    // A policy that may read but not reveal may not route a value elsewhere either.
    const noReveal = vault.as(
      'mcp:agent',
      new AccessPolicy(
        { allow: ['project/app/*'], envs: [], caps: ['read', 'write', 'list'], reveal: 'never' },
        'this MCP server',
      ),
    );
    await expect(
      noReveal.set('project/app/copy', 'dev', `{{ coffer://${APP} }}`, {
        description: DESCRIPTION,
      }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('bounds listings, project reads and batches by its policy', async () => {
    const { vault, policy } = await seeded();
    const s = vault.as('token:ci', policy);
    expect((await s.list({})).map((i) => `${i.path} ${i.env}`)).toEqual([`${APP} dev`]);
    // The record counts what the caller got, not what exists beyond its policy.
    expect(await last(vault)).toMatchObject({ action: 'list', detail: '1 items' });
    expect((await s.readProject('app', 'dev', 'run')).map((p) => p.path)).toEqual([APP]);
    await expect(s.readProject('other', 'dev', 'run')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    const outcomes = await s.getMany([
      { path: APP, env: 'dev' },
      { path: OTHER, env: 'dev' },
      { path: 'Not A Path', env: 'dev' },
    ]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, false]);
    expect(outcomes[1]).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(outcomes[2]).toMatchObject({ error: { code: 'INVALID_PATH' } });
  });
});
