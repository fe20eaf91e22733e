import { describe, expect, it } from 'vitest';
import { DESCRIPTION, makeTestVault } from '../../../test/helpers/vault.js';
import { compareEnvironments } from './compare.js';

describe('compareEnvironments', () => {
  it('lists names missing on either side and names with equal values, never a value', async () => {
    const { vault } = await makeTestVault();
    const set = (name: string, env: string, value: string) =>
      vault.set(`project/shop/${name}`, env, value, { description: DESCRIPTION });
    await set('jwt_secret', 'dev', 'same-in-both-envs-0001');
    await set('jwt_secret', 'prod', 'same-in-both-envs-0001');
    await set('stripe_key', 'dev', 'sk_test_dev_value_0002');
    await set('stripe_key', 'prod', 'sk_live_prod_value_0003');
    await set('debug_token', 'dev', 'only-in-dev-0004');
    await set('sentry_dsn', 'prod', 'only-in-prod-0005');
    const c = await compareEnvironments(vault, 'shop', 'dev', 'prod');
    expect(c).toEqual({
      project: 'shop',
      envs: ['dev', 'prod'],
      onlyInFirst: ['debug_token'],
      onlyInSecond: ['sentry_dsn'],
      sameValue: ['jwt_secret'],
      different: ['stripe_key'],
    });
    expect(JSON.stringify(c)).not.toMatch(/same-in-both|sk_test|sk_live|only-in/);
  });

  it('refuses to compare an environment with itself', async () => {
    const { vault } = await makeTestVault();
    await expect(compareEnvironments(vault, 'shop', 'dev', 'dev')).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
