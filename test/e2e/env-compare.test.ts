/**
 * `coffer env compare` through the built binary.
 */
import { describe, expect, it } from 'vitest';
import { makeHome } from './harness.js';

describe('coffer env compare', () => {
  it('names what is missing and what is equal, never a value; --fail-on-same exits 1', () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const set = (name: string, env: string, value: string) => {
      const r = h.run(
        [
          'set',
          `project/shop/${name}`,
          '--env',
          env,
          '-d',
          `Shop ${name.replace('_', ' ')} for the checkout service`,
        ],
        { input: value },
      );
      expect(r.code, r.stderr).toBe(0);
    };
    set('jwt_secret', 'dev', 'copied-to-prod-by-hand-1');
    set('jwt_secret', 'prod', 'copied-to-prod-by-hand-1');
    set('stripe_key', 'dev', 'sk_test_value_2');
    set('stripe_key', 'prod', 'sk_live_value_3');
    set('debug_token', 'dev', 'dev-only-value-4');
    const r = h.run(['env', 'compare', 'dev', 'prod', '--project', 'shop']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('only in dev:\n  debug_token');
    expect(r.stdout).toMatch(/same value in dev and prod.*\n {2}jwt_secret/);
    expect(r.stdout).not.toMatch(/copied-to-prod|sk_test|sk_live|dev-only/);
    const json = h.run(['env', 'compare', 'dev', 'prod', '--project', 'shop', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      onlyInFirst: ['debug_token'],
      onlyInSecond: [],
      sameValue: ['jwt_secret'],
      different: ['stripe_key'],
    });
    expect(
      h.run(['env', 'compare', 'dev', 'prod', '--project', 'shop', '--fail-on-same']).code,
    ).toBe(1);
  });

  it("an environment that holds nothing gets a hint in this command's terms (no --env)", () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    for (const env of ['dev', 'prod']) {
      const r = h.run(
        ['set', 'project/shop/jwt_secret', '--env', env, '-d', 'Shop JWT signing key for sessions'],
        { input: `value-in-${env}-123` },
      );
      expect(r.code, r.stderr).toBe(0);
    }
    const r = h.run(['env', 'compare', 'dev', 'prd', '--project', 'shop']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('has no secrets in environment prd; did you mean prod?');
    expect(r.stderr).toContain(
      'hint: Compare dev and prod: `coffer env compare dev prod --project shop`.',
    );
    expect(r.stderr).not.toContain('--env');
    // Other commands keep the flag, and no longer suggest creating the mistyped environment.
    const run = h.run(['run', '--project', 'shop', '--env', 'prd', '--', 'true']);
    expect(run.stderr).toContain('hint: Pass --env prod (or set COFFER_ENV');
    expect(run.stderr).not.toContain('store a secret in prd');
  });
});
