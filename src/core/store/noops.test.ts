/**
 * The vault's rules against silent no-ops: an empty value is refused unless asked for, a
 * batch of writes lands whole or not at all, and reading a project that has nothing in an
 * environment names what exists instead of answering nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault } from '../../../test/helpers/vault.js';
import { readAudit } from '../audit/log.js';
import { CofferError } from '../errors.js';
import { projectNotFound } from './project-lookup.js';

const PATH = 'project/consilio/stripe_api_key';

describe('empty values', () => {
  it('are refused with EMPTY_VALUE (usage) before anything is written, unless allowEmpty', async () => {
    const { vault } = await makeTestVault();
    const err = await vault.set(PATH, 'dev', '', { description: DESCRIPTION }).catch((e) => e);
    expect(err).toBeInstanceOf(CofferError);
    expect(err).toMatchObject({ code: 'EMPTY_VALUE', errorClass: 'usage' });
    expect(err.message).toBe(`refused to store an empty value at ${PATH} (dev)`);
    await expect(vault.get(PATH, 'dev')).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
    await vault.set(PATH, 'dev', 'sk_live_abc123xyz', { description: DESCRIPTION });
    await expect(vault.set(PATH, 'dev', '')).rejects.toMatchObject({ code: 'EMPTY_VALUE' });
    expect((await vault.get(PATH, 'dev')).version).toBe(1);
    const r = await vault.set(PATH, 'dev', '', { allowEmpty: true });
    expect(r.version).toBe(2);
    expect((await vault.get(PATH, 'dev')).value).toBe('');
  });

  it('any non-empty value is accepted without allowEmpty (property)', async () => {
    const { vault } = await makeTestVault();
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('\u0000')),
        async (v) => {
          await vault.set(PATH, 'dev', v, { description: DESCRIPTION });
          expect((await vault.get(PATH, 'dev')).value).toBe(v);
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('setMany', () => {
  const writes = (values: string[]) =>
    values.map((value, i) => ({
      path: `project/app/key_${i}`,
      env: 'dev',
      value,
      options: { description: `Key ${i} of the app for the billing service` },
    }));

  it('stores every write in one transaction, each with its own audit record', async () => {
    const { vault } = await makeTestVault();
    const r = await vault.setMany(writes(['one-1234', 'two-1234', 'three-1234']), 'env import');
    expect(r.map((x) => [x.path, x.version, x.created])).toEqual([
      ['project/app/key_0', 1, true],
      ['project/app/key_1', 1, true],
      ['project/app/key_2', 1, true],
    ]);
    const audit = await readAudit(vault, { limit: 10 });
    const mine = audit.filter((a) => a.action === 'set' || a.action === 'set_many');
    expect(mine.map((a) => [a.action, a.path, a.detail])).toEqual([
      ['set', 'project/app/key_0', 'env import'],
      ['set', 'project/app/key_1', 'env import'],
      ['set', 'project/app/key_2', 'env import'],
      ['set_many', null, '3 secrets for env import'],
    ]);
  });

  it('stores nothing when one write fails, before or inside the transaction', async () => {
    const { vault } = await makeTestVault();
    // Refused before the transaction: an empty value, a NUL, a bad description.
    for (const bad of [
      { value: '' },
      { value: 'a\u0000b' },
      { options: { description: 'API key' } },
    ]) {
      const w = writes(['one-1234', 'two-1234', 'three-1234']);
      Object.assign(w[1]!, bad);
      await expect(vault.setMany(w, 'test')).rejects.toBeInstanceOf(CofferError);
    }
    // Refused inside it: the third write's secret was created meanwhile (ifVersion 0).
    await vault.set('project/app/key_2', 'dev', 'theirs-1234', { description: DESCRIPTION });
    const w = writes(['one-1234', 'two-1234', 'three-1234']).map((x) => ({
      ...x,
      options: { ...x.options, ifVersion: 0 },
    }));
    await expect(vault.setMany(w, 'test')).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
    expect((await vault.list({ prefix: 'project/app', env: 'dev' })).map((s) => s.path)).toEqual([
      'project/app/key_2',
    ]);
    expect((await vault.get('project/app/key_2', 'dev')).value).toBe('theirs-1234');
    // The same secret twice in one batch is refused.
    const twice = writes(['one-1234', 'two-1234']);
    twice[1]!.path = twice[0]!.path;
    await expect(vault.setMany(twice, 'test')).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('readProject of nothing', () => {
  it('is PROJECT_NOT_FOUND or ENVIRONMENT_NOT_FOUND naming what exists and the closest', async () => {
    const { vault } = await makeTestVault();
    await expect(vault.readProject('consilio', 'dev', 'run')).rejects.toMatchObject({
      code: 'PROJECT_NOT_FOUND',
      message:
        'no secrets for project consilio in environment dev: there are no project secrets yet',
    });
    await vault.set(PATH, 'dev', 'sk_live_abc123xyz', { description: DESCRIPTION });
    await vault.set(PATH, 'prod', 'sk_live_prod12345', { description: DESCRIPTION });
    await vault.set('project/agents/openai_api_key', 'dev', 'sk-abc123456789', {
      description: 'OpenAI API key the agents use for chat completions',
    });
    await expect(vault.readProject('consilo', 'dev', 'run')).rejects.toMatchObject({
      code: 'PROJECT_NOT_FOUND',
      message:
        'no project consilo (in any environment); did you mean consilio? (projects: agents, consilio)',
    });
    await expect(vault.readProject('consilio', 'production', 'run')).rejects.toMatchObject({
      code: 'ENVIRONMENT_NOT_FOUND',
      message:
        'project consilio has no secrets in environment production; did you mean prod? (its environments: dev, prod)',
    });
    // What the caller may not read is neither read nor named.
    const devOnly = (_path: string, env: string) => env === 'dev';
    const e = await vault.readProject('consilio', 'staging', 'run', devOnly).catch((x) => x);
    expect(e.message).toContain('(its environments: dev)');
    // A deleted secret does not count: the project has nothing live in dev.
    await vault.delete('project/agents/openai_api_key', 'dev');
    await expect(vault.readProject('agents', 'dev', 'run')).rejects.toMatchObject({
      code: 'PROJECT_NOT_FOUND',
    });
    // The refusals are audited as not found.
    const audit = await readAudit(vault, { limit: 50 });
    expect(audit.filter((a) => a.action === 'read_project').map((a) => a.outcome)).toEqual([
      'not_found',
      'not_found',
      'not_found',
      'not_found',
      'not_found',
    ]);
  });

  it('names at most ten projects, and no match when none is close', () => {
    const visible = Array.from({ length: 12 }, (_, i) => ({
      path: `project/p${String(i).padStart(2, '0')}/key`,
      env: 'dev',
    }));
    const e = projectNotFound('zzzzzz', 'dev', visible);
    expect(e.message).toBe(
      'no project zzzzzz (in any environment) (projects: p00, p01, p02, p03, p04, p05, p06, p07, p08, p09 and 2 more)',
    );
  });
});
