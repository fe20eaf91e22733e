/**
 * Descriptions must say what a secret is for, through the built binary: the seed's bad
 * examples and the ones that said nothing ("Stripe key", "Database", a template's
 * "EMPTY for the agents project") are refused, and `env import` takes a variable's
 * description from its own comment, not from the section header above it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeHome } from './harness.js';

function vault() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  return h;
}

describe('descriptions say what a secret is for', () => {
  it('set refuses descriptions that only say what the secret is (exit 2, nothing stored)', () => {
    const h = vault();
    for (const [path, d] of [
      ['project/consilio/stripe_key', 'Stripe key'],
      ['project/agents/database_url', 'Database'],
      ['project/openhorizon/jwt_secret', 'JWT secret'],
      ['project/consilio/stripe_api_key', 'API key'],
    ] as const) {
      const r = h.run(['set', path, '-d', d], { input: 'v-Qx81' });
      expect(r.code, d).toBe(2);
      expect(r.stderr, d).toContain('say what the secret is for');
      expect(r.stderr, d).toContain('Stripe API key for payment processing');
      expect(h.run(['get', path]).code, d).toBe(3);
    }
    const ok = h.run(
      ['set', 'project/consilio/stripe_api_key', '-d', 'Stripe API key for payment processing'],
      { input: 'v-Qx81' },
    );
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('env import refuses what a --description template makes of a bare key', () => {
    const h = vault();
    const file = join(h.home, '.env');
    writeFileSync(file, 'EMPTY=some-value-Qx81\n');
    const r = h.run([
      'env',
      'import',
      file,
      '--project',
      'agents',
      '-d',
      '{key} for the {project} project',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('EMPTY');
    expect(r.stderr).toMatch(/does not say what the secret is for|only repeats the key path/);
    expect(r.stderr).not.toContain('Qx81');
    expect(h.run(['get', 'project/agents/empty']).code).toBe(3);
  });

  it('env import does not merge a section header into the description below it', () => {
    const h = vault();
    const file = join(h.home, '.env');
    writeFileSync(
      file,
      [
        '# API Keys',
        '# OpenAI API key for the chat assistant',
        'OPENAI_API_KEY=sk-test-Qx81',
        '',
        '# ===== Payments =====',
        '# Stripe API key for payment processing',
        'STRIPE_API_KEY=sk_live_Qx81',
        '',
      ].join('\n'),
    );
    const r = h.run(['env', 'import', file, '--project', 'agents']);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(h.run(['list', 'project/agents', '--json']).stdout) as {
      items: { path: string; description: string }[];
    };
    expect(Object.fromEntries(list.items.map((i) => [i.path, i.description]))).toEqual({
      'project/agents/openai_api_key': 'OpenAI API key for the chat assistant',
      'project/agents/stripe_api_key': 'Stripe API key for payment processing',
    });
  });

  it('env import falls back to the --description template when the comment above is a section title', () => {
    const h = vault();
    const file = join(h.home, '.env');
    writeFileSync(file, '# Database\nDATABASE_URL=postgres://app:pw-Qx81@db/app\n');
    const bare = h.run(['env', 'import', file, '--project', 'agents']);
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toContain('the comment above DATABASE_URL is taken as its description');
    expect(bare.stderr).not.toContain('Qx81');
    const r = h.run([
      'env',
      'import',
      file,
      '--project',
      'agents',
      '-d',
      '{key} used by the agents service',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(h.run(['list', 'project/agents', '--json']).stdout) as {
      items: { path: string; description: string }[];
    };
    expect(list.items.map((i) => i.description)).toEqual([
      'DATABASE_URL used by the agents service',
    ]);
  });
});
