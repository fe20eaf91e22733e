import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestVault, type TestVault } from '../../../test/helpers/vault.js';
import { readAudit } from '../audit/log.js';
import { localSecretsService } from '../service/local-service.js';
import type { Manifest } from './model.js';
import { parseManifest } from './parse.js';
import { runSetup, setupVault } from './setup.js';

let tv: TestVault;
let dir: string;
beforeEach(async () => {
  tv = await makeTestVault();
  dir = mkdtempSync(join(tmpdir(), 'coffer-setup-unit-'));
});
afterEach(async () => {
  tv.vault.close();
  await tv.storage.close();
});

const service = () => localSecretsService(tv.vault);
const setup = (m: Manifest, options: { dotenv?: string; allowEnvNames?: string[] } = {}) =>
  runSetup(m, service(), { env: 'dev', processEnv: {}, ask: undefined, ...options });
const stored = async () => (await tv.vault.list({})).map((s) => s.path).sort();

describe('runSetup: what a manifest may touch', () => {
  it("refuses a key path outside the manifest's project even when the parser was bypassed", async () => {
    await tv.vault.set('project/other/api_key', 'dev', 'other-value-Kd81', {
      description: 'Stripe API key the other project bills with',
    });
    // Built by hand, as a caller that skips parseManifest would: the guard still holds.
    const m = parseManifest(
      'project: app\nvariables:\n  OWN_KEY:\n    description: Signs the app session cookies\n    source: {generate: "hex:32"}\n',
      'coffer.yaml',
    );
    const bad: Manifest = {
      ...m,
      variables: [
        { ...m.variables[0]!, name: 'HARMLESS', path: 'project/other/api_key' },
        { ...m.variables[0]!, name: 'BASH_ENV_FILE', path: 'project/victim/bash_env_file' },
      ],
    };
    const file = join(dir, '.env');
    const err = await setup(bad, { dotenv: file }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FORBIDDEN' });
    expect(String((err as Error).message)).not.toContain('Kd81');
    expect(existsSync(file)).toBe(false);
    const last = (await readAudit(tv.vault)).at(-1);
    expect(last).toMatchObject({
      action: 'setup',
      outcome: 'denied',
      path: 'project/other/api_key',
      env: 'dev',
    });
    expect(await stored()).toEqual(['project/other/api_key']);
  });

  it('acts under a policy of its own: writes only in its project, reads only the meta/ secrets it names', async () => {
    const m = parseManifest(
      'project: app\nvariables:\n  API_TOKEN:\n    description: Cloudflare API token the deploy script purges the cache with\n    path: meta/cloudflare/api_token\n',
      'coffer.yaml',
    );
    const v = setupVault(m, 'dev', service());
    const opts = { description: 'Signs the app session cookies', ifVersion: 0 };
    await expect(v.set('project/app/session_key', 'dev', 'x-Lm30', opts)).resolves.toMatchObject({
      version: 1,
    });
    for (const [path, env] of [
      ['project/other/session_key', 'dev'],
      ['meta/cloudflare/api_token', 'dev'],
      ['project/app/session_key', 'prod'],
    ] as const) {
      await expect(v.set(path, env, 'x-Lm30', opts)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    }
    await expect(v.info('meta/cloudflare/other', 'dev')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(v.info('meta/cloudflare/api_token', 'dev')).rejects.toMatchObject({
      code: 'SECRET_NOT_FOUND',
    });
    expect(await stored()).toEqual(['project/app/session_key']);
  });

  it('reads a shared meta/ secret it names into the .env file, and creates its own', async () => {
    await tv.vault.set('meta/cloudflare/api_token', 'dev', 'cf-token-Wq27', {
      description: 'Cloudflare API token the deploy scripts purge the cache with',
    });
    const m = parseManifest(
      `project: app
variables:
  SESSION_KEY:
    description: Signs the app session cookies
    source: {generate: "hex:32"}
  API_TOKEN:
    description: Cloudflare API token the deploy script purges the cache with
    path: meta/cloudflare/api_token
`,
      'coffer.yaml',
    );
    const file = join(dir, '.env');
    const r = await setup(m, { dotenv: file });
    expect(r.steps.map((s) => [s.name, s.action])).toEqual([
      ['SESSION_KEY', 'generate'],
      ['API_TOKEN', 'keep'],
    ]);
    const env = dotenv.parse(readFileSync(file, 'utf8'));
    expect(env.API_TOKEN).toBe('cf-token-Wq27');
    expect(env.SESSION_KEY).toMatch(/^[0-9a-f]{64}$/);
    expect(await stored()).toEqual(['meta/cloudflare/api_token', 'project/app/session_key']);
  });

  it('never creates a shared meta/ secret that is not stored', async () => {
    const m = parseManifest(
      `project: app
variables:
  API_TOKEN:
    description: Cloudflare API token the deploy script purges the cache with
    path: meta/cloudflare/api_token
`,
      'coffer.yaml',
    );
    const err = await runSetup(m, service(), {
      env: 'dev',
      processEnv: { API_TOKEN: 'from-env-Jx55' },
      ask: async () => 'typed-Pn90',
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SETUP_INCOMPLETE' });
    expect(String((err as Error).message)).toContain('never creates it');
    expect(await stored()).toEqual([]);
  });
});

describe('runSetup --write-env: names coffer refuses to inject', () => {
  // Read as `coffer setup --allow-env-name NODE_OPTIONS` reads it when `allow` is empty: the
  // manifest reader lets it through, and setup still checks what it writes itself.
  const manifest = (allow: string) =>
    parseManifest(
      `project: app
${allow}variables:
  SESSION_KEY:
    description: Signs the app session cookies
    source: {generate: "hex:32"}
  NODE_OPTIONS:
    description: Node.js runtime flags of the app server
    sensitive: false
    source: {value: "--require ./evil.js"}
`,
      'coffer.yaml',
      { allowEnvNames: allow === '' ? ['NODE_OPTIONS'] : [] },
    );

  it('refuses NODE_OPTIONS before anything is stored or written, audited as denied', async () => {
    const file = join(dir, '.env');
    const err = await setup(manifest(''), { dotenv: file }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENV_NAME_REFUSED' });
    expect(String((err as Error).message)).toContain('NODE_OPTIONS (project/app/node_options: ');
    expect((err as { hint: string }).hint).toContain('allow_env_names: [NODE_OPTIONS]');
    expect(existsSync(file)).toBe(false);
    expect((await readAudit(tv.vault)).at(-1)).toMatchObject({
      action: 'setup',
      outcome: 'denied',
      path: 'project/app/node_options',
      detail: expect.stringContaining('ENV_NAME_REFUSED NODE_OPTIONS'),
    });
    expect(await stored()).toEqual([]);
  });

  it("writes it when the manifest's allow_env_names (or the caller) allows it", async () => {
    const file = join(dir, '.env');
    await setup(manifest('allow_env_names: [NODE_OPTIONS]\n'), { dotenv: file });
    expect(dotenv.parse(readFileSync(file, 'utf8')).NODE_OPTIONS).toBe('--require ./evil.js');
    const other = join(dir, '.env.local');
    await setup(manifest(''), { dotenv: other, allowEnvNames: ['node_options'] });
    expect(dotenv.parse(readFileSync(other, 'utf8')).NODE_OPTIONS).toBe('--require ./evil.js');
  });

  it('a manifest with a refused name is refused before setup, even without --write-env', async () => {
    const text =
      'project: app\nvariables:\n  BASH_ENV:\n    description: Shell init file of the worker scripts\n    source: {generate: "hex:32"}\n';
    expect(() => parseManifest(text, 'coffer.yaml')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(await stored()).toEqual([]);
    // Allowed by the manifest, it is stored like any other.
    const m = parseManifest(`allow_env_names: [BASH_ENV]\n${text}`, 'coffer.yaml');
    expect((await setup(m)).steps[0]).toMatchObject({ action: 'generate' });
  });
});
