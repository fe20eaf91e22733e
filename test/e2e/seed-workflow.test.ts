/**
 * The seed's workflow (store first, read back, list, verify) through the built binary,
 * plus the CLI's contracts: exit codes, --json, file modes, help texts.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeHome, STRIPE_DESCRIPTION } from './harness.js';

const mode = (p: string) => statSync(p).mode & 0o777;

describe('seed workflow through the coffer binary', () => {
  const h = makeHome();

  it('initialises a vault with 0700 directory, 0600 vault and key file', () => {
    const r = h.run(['init', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ keySource: 'key', keyFileCreated: true, kekId: 'k1' });
    const dir = join(h.home, '.coffer');
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, 'vault.db'))).toBe(0o600);
    expect(mode(join(dir, 'master.key'))).toBe(0o600);
    expect(readFileSync(join(dir, 'master.key'), 'utf8')).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(h.run(['init']).code).toBe(5);
  });

  it('stores project/consilio/stripe_api_key, reads back the same bytes, lists and verifies', () => {
    const value = 'sk_live_abc123xyz';
    const set = h.run(
      ['set', 'project/consilio/stripe_api_key', '--description', STRIPE_DESCRIPTION],
      {
        input: `${value}\n`,
      },
    );
    expect(set.code).toBe(0);
    expect(set.stdout).toBe('');
    expect(set.stderr).toContain('created project/consilio/stripe_api_key (dev) version 1');

    const get = h.run(['get', 'project/consilio/stripe_api_key']);
    expect(get).toMatchObject({ code: 0, stdout: `${value}\n` });

    const list = h.run(['list', 'project/consilio']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('project/consilio/stripe_api_key');
    expect(list.stdout).toContain(STRIPE_DESCRIPTION);
    expect(list.stdout).not.toContain(value);

    const verify = h.run(['verify', 'project/consilio/stripe_api_key', '--json']);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, checked: 1, failures: [] });
  });

  it('does the same for meta/cloudflare/api_token', () => {
    const value = 'cf-token-9f8e7d6c5b4a';
    const desc = 'Cloudflare API token for DNS updates';
    expect(h.run(['set', 'meta/cloudflare/api_token', '-d', desc], { input: value }).code).toBe(0);
    expect(h.run(['get', 'meta/cloudflare/api_token']).stdout).toBe(`${value}\n`);
    const list = JSON.parse(h.run(['list', 'meta/cloudflare', '--json']).stdout);
    expect(list.items.map((i: { path: string }) => i.path)).toEqual(['meta/cloudflare/api_token']);
    expect(JSON.stringify(list)).not.toContain(value);
    expect(h.run(['verify', 'meta/cloudflare/api_token']).code).toBe(0);
  });

  it('keeps bytes exactly with --raw, and unicode and multi-line values', () => {
    const value = 'line one\nligne deux — ünïcødé 🔑\n';
    expect(
      h.run(
        ['set', 'project/consilio/pem_key', '-d', 'TLS private key for the API gateway', '--raw'],
        { input: value },
      ).code,
    ).toBe(0);
    expect(h.run(['get', 'project/consilio/pem_key']).stdout).toBe(`${value}\n`);
    const json = JSON.parse(h.run(['get', 'project/consilio/pem_key', '--json']).stdout);
    expect(json).toEqual({
      path: 'project/consilio/pem_key',
      env: 'dev',
      version: 1,
      value,
      description: 'TLS private key for the API gateway',
    });
  });

  it('separates environments (--env and COFFER_ENV)', () => {
    const p = 'project/consilio/database_url';
    const d = 'PostgreSQL connection string for the app';
    expect(h.run(['set', p, '-d', d, '--env', 'prod'], { input: 'postgres://prod' }).code).toBe(0);
    expect(
      h.run(['set', p, '-d', d], { input: 'postgres://dev', env: { COFFER_ENV: 'staging' } }).code,
    ).toBe(0);
    expect(h.run(['get', p, '--env', 'prod']).stdout).toBe('postgres://prod\n');
    expect(h.run(['get', p], { env: { COFFER_ENV: 'staging' } }).stdout).toBe('postgres://dev\n');
    expect(h.run(['get', p]).code).toBe(3);
  });

  it('refuses a wrong path with exit 2 and suggests the fix', () => {
    const r = h.run(['set', 'project/CONSILIO/Key', '-d', STRIPE_DESCRIPTION], { input: 'x' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('did you mean project/consilio/key');
    const r2 = h.run(['get', 'consilio-stripe-key']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('project/{project}/{name}');
  });

  it('refuses generic or missing descriptions with exit 2 and shows a good example', () => {
    for (const d of ['API key', 'Password', 'Secret', 'token', '']) {
      const r = h.run(['set', 'project/consilio/new_key', '-d', d], { input: 'abc' });
      expect(r.code, d).toBe(2);
      expect(r.stderr).toContain(STRIPE_DESCRIPTION);
    }
    const none = h.run(['set', 'project/consilio/new_key'], { input: 'abc' });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('description is required');
  });

  it('check-and-set: exit 5 on a stale --if-version', () => {
    const p = 'project/consilio/stripe_api_key';
    expect(h.run(['set', p, '--if-version', '1'], { input: 'v2-value' }).code).toBe(0);
    const stale = h.run(['set', p, '--if-version', '1', '--json'], { input: 'v3-value' });
    expect(stale.code).toBe(5);
    expect(JSON.parse(stale.stderr).error.code).toBe('VERSION_CONFLICT');
    expect(h.run(['get', p]).stdout).toBe('v2-value\n');
    expect(h.run(['get', p, '--version', '1']).stdout).toBe('sk_live_abc123xyz\n');
  });

  it('history, delete and restore never print values', () => {
    const p = 'project/consilio/stripe_api_key';
    const hist = h.run(['history', p, '--json']);
    expect(JSON.parse(hist.stdout).versions.map((v: { version: number }) => v.version)).toEqual([
      1, 2,
    ]);
    expect(hist.stdout).not.toContain('sk_live');
    expect(h.run(['delete', p]).code).toBe(0);
    const gone = h.run(['get', p]);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toContain('coffer restore');
    expect(h.run(['restore', p]).code).toBe(0);
    expect(h.run(['get', p]).stdout).toBe('v2-value\n');
  });

  it('describe shows and changes metadata', () => {
    const p = 'project/consilio/stripe_api_key';
    const r = h.run([
      'describe',
      p,
      '--tier',
      '2',
      '--rotation',
      '365d',
      '--env-var',
      'STRIPE_SECRET',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      tier: 2,
      rotation: '365d',
      envVar: 'STRIPE_SECRET',
    });
    expect(h.run(['describe', p, '--tier', '9']).code).toBe(2);
    expect(h.run(['describe', p, '--rotation', 'sometimes']).code).toBe(2);
  });

  it('refuses values over 64 KiB with a clear error', () => {
    const r = h.run(['set', 'project/consilio/huge', '-d', 'Oversized blob for the limit test'], {
      input: 'x'.repeat(64 * 1024 + 1),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('64 KiB');
  });

  it('reports a wrong master key with exit 4', () => {
    const wrong = Buffer.alloc(32, 9).toString('base64');
    const r = h.run(['get', 'project/consilio/stripe_api_key'], {
      env: { COFFER_MASTER_KEY: wrong },
    });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('wrong master key');
    const malformed = h.run(['list'], { env: { COFFER_MASTER_KEY: 'not-a-key' } });
    expect(malformed.code).toBe(4);
  });

  it('audits every operation (allowed or denied) in a verifiable chain without values', () => {
    const audit = JSON.parse(h.run(['audit', '--json', '-n', '1000']).stdout);
    const actions = audit.records.map((r: { action: string }) => r.action);
    expect(actions).toContain('init');
    expect(actions).toContain('set');
    expect(actions).toContain('get');
    const denied = audit.records.find((r: { outcome: string }) => r.outcome === 'denied');
    expect(denied).toMatchObject({ action: 'get', path: 'project/consilio/stripe_api_key' });
    expect(JSON.stringify(audit)).not.toContain('sk_live');
    const v = h.run(['audit', 'verify', '--json']);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true });
  });

  it('key status and key rotate', () => {
    const before = JSON.parse(h.run(['key', 'status', '--json']).stdout);
    expect(before.primary).toBe('k1');
    const r = h.run(['key', 'rotate', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ newKey: 'k2', retired: ['k1'] });
    const after = JSON.parse(h.run(['key', 'status', '--json']).stdout);
    expect(after.keys.find((k: { id: string }) => k.id === 'k1')).toMatchObject({
      status: 'retired',
      wrappedKeys: 0,
    });
    expect(h.run(['verify', '--all']).code).toBe(0);
    expect(h.run(['get', 'meta/cloudflare/api_token']).stdout).toBe('cf-token-9f8e7d6c5b4a\n');
  });

  it('a passphrase vault opens with the passphrase and refuses a wrong one with exit 4', () => {
    const p = makeHome();
    const pass = 'correct horse battery staple';
    expect(
      p.run(['init', '--passphrase', '--kdf-log-n', '14'], { env: { COFFER_PASSPHRASE: pass } })
        .code,
    ).toBe(0);
    expect(
      p.run(
        [
          'set',
          'project/x/db_password',
          '-d',
          'Database password for the x service',
          '--passphrase-stdin',
        ],
        {
          input: `${pass}\nhunter2-but-longer\n`,
        },
      ).code,
    ).toBe(0);
    expect(
      p.run(['get', 'project/x/db_password'], { env: { COFFER_PASSPHRASE: pass } }).stdout,
    ).toBe('hunter2-but-longer\n');
    const wrong = p.run(['get', 'project/x/db_password'], {
      env: { COFFER_PASSPHRASE: 'wrong passphrase' },
    });
    expect(wrong.code).toBe(4);
    expect(p.run(['get', 'project/x/db_password']).code).toBe(1);
  });

  it('every command has --help with an example', () => {
    for (const cmd of [
      ['init'],
      ['set'],
      ['get'],
      ['list'],
      ['history'],
      ['delete'],
      ['restore'],
      ['verify'],
      ['describe'],
      ['audit'],
      ['audit', 'verify'],
      ['key', 'status'],
      ['key', 'rotate'],
    ]) {
      const r = h.run([...cmd, '--help']);
      expect(r.code, cmd.join(' ')).toBe(0);
      expect(r.stdout, cmd.join(' ')).toMatch(/Example/);
    }
    expect(h.run(['frobnicate']).code).toBe(2);
    expect(h.run(['get']).code).toBe(2);
  });

  it('a missing vault is exit 3 with a hint to run init', () => {
    const empty = makeHome();
    const r = empty.run(['list']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('coffer init');
  });
});
