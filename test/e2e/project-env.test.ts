/**
 * The default environment of every command run in a project directory: --env, then
 * COFFER_ENV, then the project file's env (.coffer `env=`, coffer.yaml `env:`), then dev.
 * `coffer set` there stores where `coffer run` there reads.
 */
import {
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasMkfifo, makeFifo, startFifoWriter } from '../helpers/fifo.js';
import { makeHome } from './harness.js';
import { startMcp } from './mcp-harness.js';
import { startServe } from './serve-harness.js';

const DESCRIPTION = 'Stripe webhook signing secret for the billing endpoint';
const PRINT = [
  process.execPath,
  '-e',
  "process.stdout.write('[' + (process.env.WEBHOOK ?? '') + ']')",
];

function project(file: string, text: string) {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const dir = mkdtempSync(join(h.home, 'proj-'));
  writeFileSync(join(dir, file), text);
  const run = (args: string[], o: { input?: string; env?: Record<string, string> } = {}) =>
    h.run(args, { ...o, cwd: dir });
  return { run, dir, home: h };
}

describe('the project file env', () => {
  it('.coffer env=prod: set, get, list and run all use prod', () => {
    const p = project('.coffer', 'project=receptor\nenv=prod\n');
    const set = p.run(['set', 'project/receptor/webhook', '-d', DESCRIPTION], {
      input: 'whsec_prod_value',
    });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).toContain('(prod)');
    const run = p.run(['run', '--no-mask', '--', ...PRINT]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('[whsec_prod_value]');
    expect(p.run(['get', 'project/receptor/webhook']).stdout).toBe('whsec_prod_value\n');
    const { items } = JSON.parse(p.run(['list', 'project/receptor', '--json']).stdout);
    expect(items.map((s: { env: string }) => s.env)).toEqual(['prod']);
    // Nothing went to dev.
    expect(p.run(['get', 'project/receptor/webhook', '--env', 'dev']).code).toBe(3);
  });

  it('--env, then COFFER_ENV, win over the project file', () => {
    const p = project('.coffer', 'project=receptor\nenv=prod\n');
    const store = (value: string, args: string[], env: Record<string, string> = {}) => {
      const r = p.run(['set', 'project/receptor/webhook', '-d', DESCRIPTION, ...args], {
        input: value,
        env,
      });
      expect(r.code, r.stderr).toBe(0);
    };
    store('in-prod', []);
    store('in-dev', ['--env', 'dev']);
    store('in-staging', [], { COFFER_ENV: 'staging' });
    store('in-qa', ['-e', 'qa'], { COFFER_ENV: 'staging' });
    const get = (args: string[], env: Record<string, string> = {}) =>
      p.run(['get', 'project/receptor/webhook', ...args], { env }).stdout.trimEnd();
    expect(get([])).toBe('in-prod');
    expect(get(['--env', 'dev'])).toBe('in-dev');
    expect(get([], { COFFER_ENV: 'staging' })).toBe('in-staging');
    expect(get(['-e', 'qa'], { COFFER_ENV: 'staging' })).toBe('in-qa');
    expect(p.run(['run', '--no-mask', '--', ...PRINT], { env: { COFFER_ENV: 'dev' } }).stdout).toBe(
      '[in-dev]',
    );
  });

  it('coffer.yaml env: prod is the default of get and run alike', () => {
    const p = project('coffer.yaml', 'project: receptor\nenv: prod\n');
    expect(
      p.run(['set', 'project/receptor/webhook', '-d', DESCRIPTION], { input: 'yaml-prod' }).code,
    ).toBe(0);
    expect(p.run(['get', 'project/receptor/webhook']).stdout).toBe('yaml-prod\n');
    expect(p.run(['run', '--no-mask', '--', ...PRINT]).stdout).toBe('[yaml-prod]');
    expect(p.run(['describe', 'project/receptor/webhook', '--json']).stdout).toContain('"prod"');
  });
});

describe("the project file's settings belong to the project it names", () => {
  const NODE_PRINT = [
    process.execPath,
    '-e',
    "process.stdout.write('[' + (process.env.WEBHOOK ?? '') + '|' + (process.env.NODE_OPTIONS ?? '') + ']')",
  ];

  it('--project naming another project: neither env= nor allow_env_names applies', () => {
    const p = project('.coffer', 'project=receptor\nenv=prod\nallow_env_names=NODE_OPTIONS\n');
    const store = (path: string, value: string, args: string[] = []) => {
      const r = p.run(['set', path, '-d', DESCRIPTION, ...args], { input: value });
      expect(r.code, r.stderr).toBe(0);
      return r.stderr;
    };
    // A key path of another project is stored where `run --project billing` reads it: dev.
    expect(store('project/billing/webhook', 'billing-dev')).toContain('(dev)');
    store('project/billing/webhook', 'billing-prod', ['--env', 'prod']);
    store('project/receptor/webhook', 'receptor-prod');
    expect(p.run(['get', 'project/billing/webhook']).stdout).toBe('billing-dev\n');
    expect(p.run(['get', 'project/receptor/webhook']).stdout).toBe('receptor-prod\n');

    const run = (args: string[], env: Record<string, string> = {}) => {
      const r = p.run(['run', '--no-mask', ...args, '--', ...NODE_PRINT], { env });
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    expect(run(['--project', 'billing'])).toBe('[billing-dev|]');
    expect(run([])).toBe('[receptor-prod|]');
    expect(run(['--project', 'receptor'])).toBe('[receptor-prod|]');
    // An explicit environment always wins.
    expect(run(['--project', 'billing', '--env', 'prod'])).toBe('[billing-prod|]');
    expect(run(['--project', 'billing'], { COFFER_ENV: 'prod' })).toBe('[billing-prod|]');

    // allow_env_names by the same rule: receptor's NODE_OPTIONS is allowed, billing's is not.
    store('project/receptor/node_options', '--no-warnings');
    store('project/billing/node_options', '--no-warnings');
    expect(run([])).toBe('[receptor-prod|--no-warnings]');
    const refused = p.run(['run', '--no-mask', '--project', 'billing', '--', ...NODE_PRINT]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('project/billing/node_options');
    expect(refused.stdout).toBe('');
  });

  it('env pull and list with another project read its dev, not the file env', () => {
    const p = project('coffer.yaml', 'project: receptor\nenv: prod\n');
    const set = p.run(['set', 'project/billing/webhook', '-d', DESCRIPTION, '--env', 'dev'], {
      input: 'billing-dev',
    });
    expect(set.code, set.stderr).toBe(0);
    const pull = p.run(['env', 'pull', '--project', 'billing', '--file', '-']);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toContain('WEBHOOK=billing-dev');
    const { items } = JSON.parse(p.run(['list', 'project/billing', '--json']).stdout);
    expect(items.map((s: { path: string; env: string }) => [s.path, s.env])).toEqual([
      ['project/billing/webhook', 'dev'],
    ]);
  });
});

describe('a project file that is not one', () => {
  it('past 1 MiB is refused by name by the commands that read it, nothing stored or run', () => {
    const p = project('.coffer', 'project=receptor\n');
    const file = join(p.dir, '.coffer');
    truncateSync(file, 3 * 1024 * 1024 * 1024); // sparse: nothing is really written
    for (const args of [
      ['run', '--no-mask', '--', process.execPath, '-e', "process.stdout.write('ran')"],
      ['set', 'project/receptor/webhook', '-d', DESCRIPTION],
      ['env', 'pull', '--file', '-'],
    ]) {
      const r = p.run(args, { input: 'whsec_value' });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`${file} is larger than 1 MiB, the limit for a project file`);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(r.stdout).toBe('');
    }
    const list = p.home.run(['list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).not.toContain('receptor');
  });

  it('a .coffer that is /dev/zero or a FIFO is passed over, not read', async () => {
    const p = project('coffer.yaml', 'project: receptor\nenv: prod\n');
    symlinkSync('/dev/zero', join(p.dir, '.coffer'));
    const set = p.run(['set', 'project/receptor/webhook', '-d', DESCRIPTION], {
      input: 'whsec_prod_value',
    });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).toContain('(prod)');
    if (!hasMkfifo) return;
    rmSync(join(p.dir, '.coffer'));
    const writer = await startFifoWriter(makeFifo(p.dir, '.coffer'), 'project=other\n');
    try {
      const run = p.run(['run', '--no-mask', '--', ...PRINT]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe('[whsec_prod_value]');
    } finally {
      writer.stop();
    }
  });
});

describe('coffer mcp and remote mode follow the same rule', () => {
  /** receptor's file says prod; billing's secrets are in dev (and one in prod). */
  function twoProjects() {
    const p = project('.coffer', 'project=receptor\nenv=prod\n');
    const store = (path: string, env: string, value: string) => {
      const r = p.run(['set', path, '-d', DESCRIPTION, '--env', env], { input: value });
      expect(r.code, r.stderr).toBe(0);
    };
    store('project/billing/webhook', 'dev', 'billing-dev');
    store('project/billing/webhook', 'prod', 'billing-prod');
    store('project/billing/signing', 'dev', 'billing-signing-dev');
    store('project/receptor/webhook', 'prod', 'receptor-prod');
    return p;
  }

  it("an MCP call on another project gets dev, not the project file's env", async () => {
    const p = twoProjects();
    const mcp = await startMcp({ env: p.home.env, cwd: p.dir, protocol: '2025-11-25' });
    try {
      const get = async (keyPath: string) =>
        (await mcp.call('get_secret', { keyPath })).structuredContent;
      expect(await get('project/billing/webhook')).toMatchObject({
        env: 'dev',
        value: 'billing-dev',
      });
      // The file's own project keeps the file's env.
      expect(await get('project/receptor/webhook')).toMatchObject({
        env: 'prod',
        value: 'receptor-prod',
      });
      const list = await mcp.call('list_secrets', { scope: 'project', project: 'billing' });
      expect(list.structuredContent).toMatchObject({ env: 'dev', project: 'billing' });
      const write = await mcp.call('write_env', { project: 'billing', file: '.env.billing' });
      expect(write.isError, JSON.stringify(write.content)).toBeFalsy();
      expect(write.structuredContent).toMatchObject({ env: 'dev' });
      expect(readFileSync(join(p.dir, '.env.billing'), 'utf8')).toContain('WEBHOOK=billing-dev');
      // An explicit environment still wins.
      expect(
        (await mcp.call('get_secret', { keyPath: 'project/billing/webhook', env: 'prod' }))
          .structuredContent,
      ).toMatchObject({ env: 'prod', value: 'billing-prod' });
    } finally {
      await mcp.close();
    }
  });

  it("remote mode: verify of another project's secret checks dev, the file's own prod", async () => {
    const p = twoProjects();
    const created = p.home.run([
      'token',
      'create',
      '--name',
      'verifier',
      '--allow',
      'project/**',
      '--cap',
      'read,list',
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const { token } = JSON.parse(created.stdout) as { token: string };
    const serve = await startServe(p.home.env, ['--log-level', 'warn']);
    try {
      const remote = { COFFER_URL: serve.url, COFFER_TOKEN: token };
      const verify = (path: string) => p.run(['verify', path, '--json'], { env: remote });
      // project/billing/signing is in dev only: checking prod would find nothing.
      const other = verify('project/billing/signing');
      expect(other.code, other.stderr).toBe(0);
      expect(JSON.parse(other.stdout)).toMatchObject({ ok: true, checked: 1 });
      // project/receptor/webhook is in prod only: the file's env applies to its project.
      const own = verify('project/receptor/webhook');
      expect(own.code, own.stderr).toBe(0);
      expect(JSON.parse(own.stdout)).toMatchObject({ ok: true, checked: 1 });
    } finally {
      await serve.stop();
    }
  });
});
