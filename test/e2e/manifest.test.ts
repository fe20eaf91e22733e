/**
 * `coffer manifest` through the built binary.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasMkfifo, makeFifo, startFifoWriter } from '../helpers/fifo.js';
import {
  OPTIONAL_SENTRY_DSN,
  RECEPTOR_TIER1,
  RECEPTOR_TIER2,
  receptorManifestWith,
} from '../helpers/receptor-manifest.js';
import { makeHome } from './harness.js';

/** Seed 002's receptor project, with an optional variable for the optional case. */
const MANIFEST = receptorManifestWith(OPTIONAL_SENTRY_DSN);
const REQUIRED = [...RECEPTOR_TIER1, ...RECEPTOR_TIER2];

function project() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const dir = join(h.home, 'receptor');
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'coffer.yaml'), MANIFEST);
  return { h, dir };
}

describe('coffer manifest check', () => {
  it('exits 1 naming every missing variable, then 0 once they are stored', () => {
    const { h, dir } = project();
    // From a subdirectory: the nearest coffer.yaml is found.
    const before = h.run(['manifest', 'check', '--json'], { cwd: join(dir, 'src') });
    expect(before.code, before.stderr).toBe(1);
    const result = JSON.parse(before.stdout);
    expect(result.missing.map((m: { name: string }) => m.name)).toEqual(REQUIRED);
    expect(result.plain).toEqual(['PUBLIC_URL']);
    for (const name of [...REQUIRED.map((n) => n.toLowerCase()), 'legacy_token']) {
      const r = h.run(
        [
          'set',
          `project/receptor/${name}`,
          '-d',
          `Receptor ${name.replace(/_/g, ' ')} read by the API gateway`,
        ],
        { input: `value-of-${name}` },
      );
      expect(r.code, r.stderr).toBe(0);
    }
    const after = h.run(['manifest', 'check'], { cwd: dir });
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toContain('not in the manifest: project/receptor/legacy_token');
    expect(after.stdout).toContain('optional, not stored: SENTRY_DSN');
    expect(after.stdout).not.toContain('value-of-');
    // prod has nothing yet.
    expect(h.run(['manifest', 'check', '--env', 'prod'], { cwd: dir }).code).toBe(1);
  });

  it('finds a shared meta/ secret the manifest names', () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const dir = join(h.home, 'app');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'coffer.yaml'),
      'project: app\nvariables:\n  API_TOKEN:\n    description: Cloudflare API token the deploy script purges the cache with\n    path: meta/cloudflare/api_token\n',
    );
    const before = h.run(['manifest', 'check', '--json'], { cwd: dir });
    expect(before.code, before.stderr).toBe(1);
    expect(JSON.parse(before.stdout).missing).toEqual([
      { name: 'API_TOKEN', path: 'meta/cloudflare/api_token' },
    ]);
    const set = h.run(
      ['set', 'meta/cloudflare/api_token', '-d', 'Cloudflare API token for cache purges'],
      { input: 'cf-token-Nb12' },
    );
    expect(set.code, set.stderr).toBe(0);
    const after = h.run(['manifest', 'check', '--json'], { cwd: dir });
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ present: ['API_TOKEN'], missing: [] });
    expect(after.stdout).not.toContain('Nb12');
  });

  it('an invalid manifest is exit 2 with file:line:column; an unknown environment is refused', () => {
    const { h, dir } = project();
    writeFileSync(
      join(dir, 'coffer.yaml'),
      `${MANIFEST}  BROKEN:\n    description: Signs the webhook payloads sent to partners\n    tier: 9\n`,
    );
    const r = h.run(['manifest', 'check'], { cwd: dir });
    expect(r.code).toBe(2);
    const tierLine = MANIFEST.split('\n').length + 2;
    expect(r.stderr).toMatch(
      new RegExp(
        `coffer\\.yaml:${tierLine}:\\d+: variables\\.BROKEN\\.tier: tier must be 1, 2 or 3`,
      ),
    );
    writeFileSync(join(dir, 'coffer.yaml'), MANIFEST);
    const env = h.run(['manifest', 'check', '--env', 'production'], { cwd: dir });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('environments: dev, prod');
  });

  it('prints the JSON Schema', () => {
    const { h, dir } = project();
    const r = h.run(['manifest', 'schema'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).properties.variables).toBeDefined();
  });
});

describe('coffer env example --from-manifest', () => {
  it('writes placeholders grouped by tier, keeps plain settings, holds no value', () => {
    const { h, dir } = project();
    const r = h.run(['env', 'example', '--from-manifest', '--env', 'prod'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(dir, '.env.example'), 'utf8');
    expect(text).toContain('# Tier 1: infrastructure core\n');
    expect(text).toContain('JWT_SECRET=set-from-JWT_SECRET\n');
    expect(text).toContain('OPENAI_API_KEY=your-openai-api-key\n');
    expect(text).toContain('PUBLIC_URL=http://localhost:3000\n');
    expect(text).toContain("# Signs the API's session tokens; rotating it logs every user out\n");
  });
});

describe('coffer manifest init', () => {
  const ENV = [
    "# Signs the API's session tokens; rotating it logs every user out",
    'JWT_SECRET=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    '# OpenAI API key the assistant uses for chat completions',
    'OPENAI_API_KEY=sk-proj-init-value-never-copied',
    '# Base URL of the OpenAI-compatible API the assistant calls',
    'OPENAI_BASE_URL=https://api.openai.com/v1',
    '# Connection string of the receptor database, password included',
    'DATABASE_URL=postgres://app:init-pg-password@db:5432/app',
    '',
  ].join('\n');

  it('writes coffer.yaml from .env without a value; check, setup and check again work on it', () => {
    const { h, dir } = project();
    rmSync(join(dir, 'coffer.yaml'));
    writeFileSync(join(dir, '.env'), ENV);
    const r = h.run(['manifest', 'init', '--from', '.env', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.project).toBe('receptor');
    expect(
      Object.fromEntries(
        (out.variables as { name: string; tier: number | null; source: string }[]).map((v) => [
          v.name,
          [v.tier, v.source],
        ]),
      ),
    ).toEqual({
      JWT_SECRET: [1, 'generate'],
      OPENAI_API_KEY: [2, 'ask'],
      OPENAI_BASE_URL: [null, 'ask'],
      DATABASE_URL: [1, 'ask'],
    });
    const text = readFileSync(join(dir, 'coffer.yaml'), 'utf8');
    expect(text).toContain('# guess:');
    for (const v of ['0123456789abcdef', 'sk-proj', 'api.openai.com', 'init-pg-password']) {
      expect(text).not.toContain(v);
    }
    // A valid manifest: check exits 1 (nothing stored), not 2.
    const check = h.run(['manifest', 'check', '--json'], { cwd: dir });
    expect(check.code, check.stderr).toBe(1);
    expect(JSON.parse(check.stdout).missing.map((m: { name: string }) => m.name)).toEqual([
      'JWT_SECRET',
      'OPENAI_API_KEY',
      'OPENAI_BASE_URL',
      'DATABASE_URL',
    ]);
    // setup imports what the .env file holds and generates nothing over it.
    const setup = h.run(['setup', '--env', 'dev', '--write-env'], { cwd: dir });
    expect(setup.code, setup.stderr).toBe(0);
    expect(h.run(['manifest', 'check'], { cwd: dir }).code).toBe(0);
    expect(h.run(['get', 'project/receptor/openai_api_key']).stdout).toBe(
      'sk-proj-init-value-never-copied\n',
    );
  });

  it('refuses to overwrite a manifest unless --force; prints to stdout with -o -', () => {
    const { h, dir } = project();
    writeFileSync(
      join(dir, '.env.example'),
      'PORT=3000\n# Stripe secret key the checkout service charges cards with\nSTRIPE_SECRET_KEY=\n',
    );
    const refused = h.run(['manifest', 'init'], { cwd: dir });
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('coffer.yaml already exists');
    expect(readFileSync(join(dir, 'coffer.yaml'), 'utf8')).toBe(MANIFEST);
    const typo = h.run(['manifest', 'init', '--from', 'vualt', '-o', '-'], { cwd: dir });
    expect(typo.code).toBe(3);
    expect(typo.stderr).toContain('did you mean --from vault?');
    const stdout = h.run(['manifest', 'init', '-o', '-'], { cwd: dir });
    expect(stdout.code, stdout.stderr).toBe(0);
    expect(stdout.stdout).toContain('source: { value: "3000" }');
    expect(stdout.stderr).toContain('PORT');
    const forced = h.run(['manifest', 'init', '--force'], { cwd: dir });
    expect(forced.code, forced.stderr).toBe(0);
    const text = readFileSync(join(dir, 'coffer.yaml'), 'utf8');
    expect(text).toContain('STRIPE_SECRET_KEY:');
    expect(statSync(join(dir, 'coffer.yaml')).mode & 0o777).toBe(0o644);
  });

  it('--from vault: descriptions and generator specs of the stored secrets', () => {
    const { h, dir } = project();
    const setup = h.run(['setup', '--env', 'dev'], {
      cwd: dir,
      env: { OPENAI_API_KEY: 'v1', SMTP_PASS: 'v2', CLOUDFLARED_TOKEN: 'v3' },
    });
    expect(setup.code, setup.stderr).toBe(0);
    const r = h.run(['manifest', 'init', '--from', 'vault', '-o', '-'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('environments: [dev]');
    expect(r.stdout).toContain(
      '  JWT_SECRET:\n    description: Signs the API\'s session tokens; rotating it logs every user out\n    tier: 1\n    source: { generate: "hex:32" }\n',
    );
    expect(r.stdout).not.toMatch(/v1|v2|v3/);
  });
});

describe('a coffer.yaml that is a FIFO', () => {
  it.skipIf(!hasMkfifo)('is refused unread by the commands that read the manifest', async () => {
    const { h, dir } = project();
    rmSync(join(dir, 'coffer.yaml'));
    const fifo = makeFifo(dir, 'coffer.yaml');
    // A manifest on every line: what a reader of the FIFO would take in.
    const writer = await startFifoWriter(fifo, MANIFEST);
    try {
      for (const args of [
        ['manifest', 'check'],
        ['setup', '--dry-run'],
      ]) {
        const r = h.run(args, { cwd: join(dir, 'src') });
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`coffer: error: ${fifo} is not a regular file`);
        expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      }
    } finally {
      writer.stop();
    }
  });
});
