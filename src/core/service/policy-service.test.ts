/**
 * `withPolicy` around a service that is not the local vault (as in remote mode, where the
 * inner service is a server's): the policy decides every call before the inner service sees
 * it, bounds what comes back, and sends refusals to its denier.
 */
import { describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault } from '../../../test/helpers/vault.js';
import { AccessPolicy, type Target } from '../access/policy.js';
import type { CofferError } from '../errors.js';
import { localSecretsService } from './local-service.js';
import { withPolicy } from './policy-service.js';
import type { SecretsService } from './secrets-service.js';

const APP = 'project/app/api_key';
const OTHER = 'project/other/db_password';

/** The whole vault as a server would serve a wide token, each call recorded. */
async function wideInner() {
  const tv = await makeTestVault('token:wide');
  await tv.vault.set(APP, 'dev', 'app-value-0001', { description: DESCRIPTION });
  await tv.vault.set(OTHER, 'dev', 'other-value-0002', { description: DESCRIPTION });
  await tv.vault.set('project/app/db_host', 'dev', `{{ coffer://${OTHER} }}`, {
    description: DESCRIPTION,
  });
  const plain = localSecretsService(tv.vault);
  const calls: string[] = [];
  const inner = new Proxy(plain, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return v.apply(target, args);
      };
    },
  }) as SecretsService;
  const refusals: { action: string; target: Target; reason: string }[] = [];
  const policy = new AccessPolicy(
    { allow: ['project/app/*'], envs: ['dev'], caps: ['read', 'list', 'write'] },
    'mcp --allow',
  );
  const bound = withPolicy(inner, policy, async (action, target, reason) => {
    refusals.push({ action, target, reason });
  });
  return { calls, refusals, bound };
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: CofferError) => e.code,
  );

describe('withPolicy', () => {
  it('refuses outside the policy before the inner service is called, through its denier', async () => {
    const { calls, refusals, bound } = await wideInner();
    expect(await codeOf(bound.get(OTHER, 'dev'))).toBe('FORBIDDEN');
    expect(await codeOf(bound.get(APP, 'prod'))).toBe('FORBIDDEN');
    expect(await codeOf(bound.set(OTHER, 'dev', 'x-value-1234', {}))).toBe('FORBIDDEN');
    expect(await codeOf(bound.audit())).toBe('FORBIDDEN');
    expect(calls).toEqual([]);
    expect(refusals.map((r) => [r.action, r.target.path ?? null])).toEqual([
      ['get', OTHER],
      ['get', APP],
      ['set', OTHER],
      ['audit', null],
    ]);
  });

  it('refuses a value referring to what the policy may not read', async () => {
    const { calls, bound } = await wideInner();
    const stored = bound.set('project/app/steal', 'dev', `{{ coffer://${OTHER} }}`, {
      description: DESCRIPTION,
    });
    expect(await codeOf(stored)).toBe('FORBIDDEN');
    expect(calls).not.toContain('set');
  });

  it('bounds listings, project reads and reads of many to the policy', async () => {
    const { bound } = await wideInner();
    expect((await bound.list({ env: 'dev' })).map((s) => s.path).sort()).toEqual([
      'project/app/api_key',
      'project/app/db_host',
    ]);
    const project = await bound.readProject('app', 'dev', 'test');
    expect(project.map((s) => s.path).sort()).toEqual([
      'project/app/api_key',
      'project/app/db_host',
    ]);
    const many = await bound.getMany([
      { path: APP, env: 'dev' },
      { path: OTHER, env: 'dev' },
    ]);
    expect(many.map((o) => o.ok)).toEqual([true, false]);
    expect(JSON.stringify(many)).not.toContain('other-value-0002');
  });

  it('records only the file writes of what the policy may read', async () => {
    const { calls, bound } = await wideInner();
    const n = await bound.recordFileWrite!(
      '/srv/app/.env',
      [
        { path: APP, env: 'dev', version: 1, name: 'API_KEY' },
        { path: OTHER, env: 'dev', version: 1, name: 'DB_PASSWORD' },
      ],
      'env pull',
    );
    expect(n).toBe(1);
    expect(calls).toEqual(['recordFileWrite']);
  });
});
