/**
 * Seed 002's setup.sh as `coffer setup`, through the built binary: a `receptor` project with
 * three tier 1 secrets (generated in dev, injected in prod) and three tier 2 ones (asked).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { describe, expect, it } from 'vitest';
import { RECEPTOR_MANIFEST, RECEPTOR_TIER1 } from '../helpers/receptor-manifest.js';
import { BIN, makeHome } from './harness.js';
import { startMcp } from './mcp-harness.js';

const TIER2 = {
  OPENAI_API_KEY: 'sk-proj-openai-value-1',
  SMTP_PASS: 'smtp-pass-value-2',
  CLOUDFLARED_TOKEN: 'cf-tunnel-value-3',
};

function project() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const dir = join(h.home, 'receptor');
  mkdirSync(dir);
  writeFileSync(join(dir, 'coffer.yaml'), RECEPTOR_MANIFEST);
  return { h, dir };
}

describe('coffer setup (seed 002)', () => {
  it('dev: generates tier 1, takes exported values, writes .env; a second run changes nothing', () => {
    const { h, dir } = project();
    const first = h.run(['setup', '--env', 'dev', '--write-env', '--json'], {
      cwd: dir,
      env: TIER2,
    });
    expect(first.code, first.stderr).toBe(0);
    const steps = Object.fromEntries(
      (JSON.parse(first.stdout).steps as { name: string; action: string }[]).map((s) => [
        s.name,
        s.action,
      ]),
    );
    expect(steps).toEqual({
      JWT_SECRET: 'generate',
      POSTGRES_PASSWORD: 'generate',
      SERVICE_ROLE_KEY: 'generate',
      OPENAI_API_KEY: 'from-env',
      SMTP_PASS: 'from-env',
      CLOUDFLARED_TOKEN: 'from-env',
      PUBLIC_URL: 'value',
    });
    const envFile = join(dir, '.env');
    const text = readFileSync(envFile, 'utf8');
    const parsed = dotenv.parse(text);
    expect(parsed.JWT_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(parsed.OPENAI_API_KEY).toBe(TIER2.OPENAI_API_KEY);
    expect(parsed.PUBLIC_URL).toBe('http://localhost:3000');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(h.run(['get', 'project/receptor/jwt_secret']).stdout).toBe(`${parsed.JWT_SECRET}\n`);
    expect(first.stdout + first.stderr).not.toContain(parsed.JWT_SECRET!);
    // Second run: nothing generated again, the file byte-identical.
    const mtime = statSync(envFile).mtimeMs;
    const second = h.run(['setup', '--env', 'dev', '--write-env', '--json'], { cwd: dir });
    expect(second.code, second.stderr).toBe(0);
    const again = JSON.parse(second.stdout) as {
      steps: { action: string }[];
      dotenv: { written: boolean };
    };
    expect(new Set(again.steps.map((s) => s.action))).toEqual(new Set(['keep', 'value']));
    expect(again.dotenv.written).toBe(false);
    expect(readFileSync(envFile, 'utf8')).toBe(text);
    expect(statSync(envFile).mtimeMs).toBe(mtime);
  });

  it('dev: a value only in the .env file is imported, not replaced; a conflict changes nothing', () => {
    const { h, dir } = project();
    writeFileSync(join(dir, '.env'), 'JWT_SECRET=kept-from-the-file-0123456789\n');
    const r = h.run(['setup', '--env', 'dev', '--write-env'], { cwd: dir, env: TIER2 });
    expect(r.code, r.stderr).toBe(0);
    expect(h.run(['get', 'project/receptor/jwt_secret']).stdout).toBe(
      'kept-from-the-file-0123456789\n',
    );
    writeFileSync(join(dir, '.env'), 'JWT_SECRET=a-different-value-in-the-file\n');
    const conflict = h.run(['setup', '--env', 'dev', '--write-env'], { cwd: dir });
    expect(conflict.code).toBe(5);
    expect(conflict.stderr).toContain('JWT_SECRET');
    expect(conflict.stderr).not.toMatch(/kept-from-the-file|a-different-value/);
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe(
      'JWT_SECRET=a-different-value-in-the-file\n',
    );
  });

  it('prod without a terminal and nothing exported: exit 1 listing every missing name, nothing stored', () => {
    const { h, dir } = project();
    const r = h.run(['setup', '--env', 'prod'], { cwd: dir });
    expect(r.code).toBe(1);
    for (const name of [...RECEPTOR_TIER1, ...Object.keys(TIER2)]) {
      expect(r.stderr).toContain(`${name}:`);
    }
    const list = h.run(['list', 'project/receptor', '--env', 'prod', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).items).toEqual([]);
  });

  it('prod: an exported JWT_SECRET is used, not generated', () => {
    const { h, dir } = project();
    const exported = {
      ...TIER2,
      JWT_SECRET: 'exported-jwt-secret-value-42',
      POSTGRES_PASSWORD: 'exported-pg-password-43',
      SERVICE_ROLE_KEY: 'exported-service-role-44',
    };
    const r = h.run(['setup', '--env', 'prod'], { cwd: dir, env: exported });
    expect(r.code, r.stderr).toBe(0);
    expect(h.run(['get', 'project/receptor/jwt_secret', '--env', 'prod']).stdout).toBe(
      'exported-jwt-secret-value-42\n',
    );
  });

  it('a mistyped environment is an error with a suggestion', () => {
    const { h, dir } = project();
    const r = h.run(['setup', '--env', 'production'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('did you mean --env prod?');
  });
});

describe('coffer setup: a manifest acts on its own project only', () => {
  function repo(manifest: string) {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const dir = join(h.home, 'app');
    mkdirSync(dir);
    writeFileSync(join(dir, 'coffer.yaml'), manifest);
    return { h, dir };
  }
  const paths = (h: ReturnType<typeof makeHome>) =>
    (JSON.parse(h.run(['list', '--env', 'dev', '--json']).stdout).items as { path: string }[]).map(
      (i) => i.path,
    );

  it("refuses another project's key paths: nothing read, stored or written (security review)", () => {
    const { h, dir } = repo(`project: app
variables:
  HARMLESS:
    description: Stripe API key used by the billing module
    path: project/other/api_key
    source: {generate: hex:32}
  BASH_ENV:
    description: Shell init file used by the worker scripts
    path: project/victim/bash_env_file
    source: {generate: hex:32}
`);
    const set = h.run(
      ['set', 'project/other/api_key', '-d', 'Stripe API key the other app bills with'],
      {
        input: 'other-secret-Rt64',
      },
    );
    expect(set.code, set.stderr).toBe(0);
    const r = h.run(['setup', '--env', 'dev', '--write-env'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "variables.HARMLESS.path: project/other/api_key is another project's secret; the variables of project app are under project/app/",
    );
    expect(r.stderr).toContain('variables.BASH_ENV.path: project/victim/bash_env_file');
    expect(r.stdout + r.stderr).not.toContain('Rt64');
    expect(existsSync(join(dir, '.env'))).toBe(false);
    expect(paths(h)).toEqual(['project/other/api_key']);
    // The other projects still run.
    const run = h.run(['run', '--project', 'other', '--', process.execPath, '-e', '0']);
    expect(run.code, run.stderr).toBe(0);
  });

  it('reads a shared meta/ secret under its own name; creates only its own', () => {
    const { h, dir } = repo(`project: app
variables:
  SESSION_KEY:
    description: Signs the session cookies of the app
    source: {generate: hex:32}
  API_TOKEN:
    description: Cloudflare API token the deploy script purges the cache with
    path: meta/cloudflare/api_token
`);
    const missing = h.run(['setup', '--env', 'dev', '--write-env'], {
      cwd: dir,
      env: { API_TOKEN: 'exported-Hy30' },
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('meta/cloudflare/api_token is a shared secret');
    expect(paths(h)).toEqual([]);
    expect(
      h.run(['set', 'meta/cloudflare/api_token', '-d', 'Cloudflare API token for cache purges'], {
        input: 'cf-token-Hy31',
      }).code,
    ).toBe(0);
    const r = h.run(['setup', '--env', 'dev', '--write-env'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const env = dotenv.parse(readFileSync(join(dir, '.env'), 'utf8'));
    expect(env.API_TOKEN).toBe('cf-token-Hy31');
    expect(env.SESSION_KEY).toMatch(/^[0-9a-f]{64}$/);
    expect(paths(h)).toEqual(['meta/cloudflare/api_token', 'project/app/session_key']);
  });

  it('--write-env refuses NODE_OPTIONS unless the manifest allows it; nothing stored or written', () => {
    const manifest = (allow: string) => `project: app
${allow}variables:
  SESSION_KEY:
    description: Signs the session cookies of the app
    source: {generate: hex:32}
  NODE_OPTIONS:
    description: Node.js runtime flags of the app server
    sensitive: false
    source: {value: "--require ./evil.js"}
`;
    const { h, dir } = repo(manifest(''));
    // The manifest itself is refused (a secret no injector would use), with or without
    // --write-env: nothing stored or written.
    for (const extra of [['--write-env'], []]) {
      const r = h.run(['setup', '--env', 'dev', ...extra, '--json'], { cwd: dir });
      expect(r.code).toBe(2);
      const err = JSON.parse(r.stderr).error;
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toContain('variables.NODE_OPTIONS (project/app/node_options): ');
      expect(err.hint).toContain('allow_env_names: [NODE_OPTIONS]');
      expect(r.stderr).not.toContain('evil.js');
      expect(existsSync(join(dir, '.env'))).toBe(false);
      expect(paths(h)).toEqual([]);
    }

    const flag = h.run(
      ['setup', '--env', 'dev', '--write-env', '--allow-env-name', 'NODE_OPTIONS'],
      {
        cwd: dir,
      },
    );
    expect(flag.code, flag.stderr).toBe(0);
    rmSync(join(dir, '.env'));
    writeFileSync(join(dir, 'coffer.yaml'), manifest('allow_env_names: [NODE_OPTIONS]\n'));
    const ok = h.run(['setup', '--env', 'dev', '--write-env'], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(dotenv.parse(readFileSync(join(dir, '.env'), 'utf8')).NODE_OPTIONS).toBe(
      '--require ./evil.js',
    );
  });

  it('a manifest variable with a refused name: manifest check, setup and MCP manifest_status refuse it alike, unless allowed here', async () => {
    const { h, dir } = repo(`project: app
variables:
  SESSION_KEY:
    description: Signs the session cookies of the app
    source: {generate: hex:32}
  BASH_ENV:
    description: Shell start-up file of the worker scripts
    source: {generate: hex:32}
`);
    const refused = (r: { code: number | null; stderr: string }, what: string) => {
      expect(r.code, `${what}: ${r.stderr}`).toBe(2);
      expect(r.stderr, what).toContain('variables.BASH_ENV (project/app/bash_env): ');
      expect(r.stderr, what).toContain('allow_env_names: [BASH_ENV]');
    };
    refused(h.run(['manifest', 'check', '--env', 'dev'], { cwd: dir }), 'manifest check');
    refused(h.run(['setup', '--env', 'dev'], { cwd: dir }), 'setup');
    expect(paths(h)).toEqual([]);
    const mcp = await startMcp({ env: h.env, cwd: dir, protocol: '2025-11-25' });
    try {
      const status = await mcp.call('manifest_status', {});
      expect(status.isError).toBe(true);
      expect(status.content[0]?.text).toContain('variables.BASH_ENV (project/app/bash_env): ');
    } finally {
      await mcp.close();
    }
    // Another project's .coffer allows nothing here; this project's does.
    writeFileSync(join(dir, '.coffer'), 'project=other\nallow_env_names=BASH_ENV\n');
    refused(h.run(['setup', '--env', 'dev'], { cwd: dir }), 'setup, other project file');
    writeFileSync(join(dir, '.coffer'), 'project=app\nallow_env_names=BASH_ENV\n');
    const ok = h.run(['setup', '--env', 'dev'], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(paths(h)).toEqual(['project/app/bash_env', 'project/app/session_key']);
    expect(h.run(['manifest', 'check', '--env', 'dev'], { cwd: dir }).code).toBe(0);
  });
});

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasScript) console.warn('SKIPPED setup terminal test: util-linux `script` is not installed');

/**
 * Runs `coffer setup --env ENV` in `dir` on a pty, answering each prompt (by variable name) in
 * turn with its value and Enter.
 */
function setupOnPty(
  dir: string,
  env: Record<string, string>,
  setupEnv: string,
  answers: [string, string][],
): Promise<{ code: number | null; out: string }> {
  const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const cmd = `cd ${q(dir)} && ${q(process.execPath)} ${q(BIN)} setup --env ${setupEnv}`;
  const pending = [...answers];
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString('utf8');
      const next = pending[0];
      if (next !== undefined && text.includes(`${next[0]} (`)) {
        pending.shift();
        // Give the process a moment to switch the terminal to raw mode after printing.
        setTimeout(() => child.stdin.write(`${next[1]}\r`), 150);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, out: text });
    });
  });
}

describe.skipIf(!hasScript)('coffer setup on a terminal', () => {
  it('prompts for each missing value with echo off', async () => {
    const { h, dir } = project();
    const exported = {
      JWT_SECRET: 'exported-jwt-secret-value-42',
      POSTGRES_PASSWORD: 'exported-pg-password-43',
      SERVICE_ROLE_KEY: 'exported-service-role-44',
    };
    const out = await setupOnPty(dir, { ...h.env, ...exported }, 'prod', Object.entries(TIER2));
    expect(out.code, out.out).toBe(0);
    for (const value of Object.values(TIER2)) expect(out.out).not.toContain(value);
    expect(h.run(['get', 'project/receptor/smtp_pass', '--env', 'prod']).stdout).toBe(
      `${TIER2.SMTP_PASS}\n`,
    );
  });

  it('prod on a terminal with nothing exported: the tier 1 env: sources are asked for too (seed 002)', async () => {
    const { h, dir } = project();
    const tier1 = {
      JWT_SECRET: 'typed-jwt-secret-value-52',
      POSTGRES_PASSWORD: 'typed-pg-password-53',
      SERVICE_ROLE_KEY: 'typed-service-role-54',
    };
    const out = await setupOnPty(dir, h.env, 'prod', [
      ...Object.entries(tier1),
      ...Object.entries(TIER2),
    ]);
    expect(out.code, out.out).toBe(0);
    for (const value of [...Object.values(tier1), ...Object.values(TIER2)]) {
      expect(out.out).not.toContain(value);
    }
    expect(h.run(['get', 'project/receptor/jwt_secret', '--env', 'prod']).stdout).toBe(
      `${tier1.JWT_SECRET}\n`,
    );
  });

  it('a prompt left empty stores nothing at all, the answers before it and the rest included', async () => {
    const { h, dir } = project();
    const out = await setupOnPty(dir, h.env, 'dev', [
      ['OPENAI_API_KEY', TIER2.OPENAI_API_KEY],
      ['SMTP_PASS', ''],
    ]);
    expect(out.code, out.out).toBe(2);
    expect(out.out).toContain('nothing was given for SMTP_PASS');
    const listed = h.run(['list', 'project/receptor', '--env', 'dev', '--json']);
    expect(JSON.parse(listed.stdout)).toMatchObject({ items: [] });
  });
});
