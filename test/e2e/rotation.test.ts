/**
 * `coffer rotation status` as a user (or a scheduled CI job) runs it: secrets stored through
 * the library with a clock in the past, then the binary reports on them now.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { describe, expect, it } from 'vitest';
import { Vault } from '../../src/core/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { auditRecords, makeHome } from './harness.js';

const DAY = 86_400_000;

/** A home with a vault made by `coffer init`, and the library's view of it. */
function home() {
  const h = makeHome();
  const key = randomBytes(32);
  const env = { ...h.env, COFFER_MASTER_KEY: key.toString('base64') };
  expect(h.run(['init'], { env }).code).toBe(0);
  const file = join(h.env.COFFER_HOME!, 'vault.db');
  /** Runs `fn` on the vault with its clock set `daysAgo` days in the past. */
  const at = async (daysAgo: number, fn: (v: Vault) => Promise<unknown>) => {
    const storage = openSqliteStorage(file);
    const vault = new Vault(storage, new Uint8Array(key), {
      actor: 'cli:alice',
      now: () => new Date(Date.now() - daysAgo * DAY),
    });
    try {
      await fn(vault);
    } finally {
      vault.close();
      await storage.close();
    }
  };
  return { run: (args: string[]) => h.run(args, { env }), at };
}

describe('coffer rotation status', () => {
  it('--fail-on-overdue exits 1 exactly when something is overdue', async () => {
    const h = home();
    await h.at(100, (v) =>
      v.set('project/agents/openai_api_key', 'prod', 'sk-old-value-123', {
        description: 'LLM access for the support assistant summaries',
        metadata: { rotation: '90d' },
      }),
    );
    await h.at(10, (v) =>
      v.set('project/web/secret_key', 'prod', 'jwt-value-456', {
        description: 'Signs session cookies for logged-in users',
        metadata: { rotation: '1y' },
      }),
    );
    const all = h.run(['rotation', 'status', '--fail-on-overdue']);
    expect(all.code, all.stderr).toBe(1);
    expect(all.stdout).toMatch(
      /overdue\s+project\/agents\/openai_api_key\s+prod\s+90d\s+100d\s+10d overdue\s+never rotated/,
    );
    expect(all.stderr).toContain('next: coffer rotate project/agents/openai_api_key --env prod');
    const web = h.run(['rotation', 'status', '--project', 'web', '--fail-on-overdue']);
    expect(web.code, web.stderr).toBe(0);
    expect(h.run(['rotation', 'status']).code).toBe(0);

    const json = h.run(['rotation', 'status', '--json', '--due-within', '400d']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { overdue: number; items: { state: string }[] };
    expect(report.overdue).toBe(1);
    expect(report.items.map((i) => i.state)).toEqual(['overdue', 'due-soon']);
    for (const r of [all, web, json]) expect(r.stdout + r.stderr).not.toMatch(/sk-old|jwt-value/);
  });

  it('refuses a bad duration with a usage hint', () => {
    const h = home();
    const r = h.run(['rotation', 'status', '--due-within', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid --due-within');
    expect(r.stderr).toContain('hint:');
  });
});

/** A project directory with a coffer.yaml (seed 004's secrets). */
function project(h: ReturnType<typeof makeHome>): string {
  const dir = join(h.home, 'agents');
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'coffer.yaml'),
    `project: agents
variables:
  OPENAI_API_KEY:
    description: LLM access for the support assistant summaries
    tier: 2
    rotation: 1y
    rotate: |
      1. Go to https://platform.openai.com/api-keys
      2. Create new key
  SECRET_KEY:
    description: Signs the login tokens users carry between requests
    tier: 1
    rotation: 1y
    source: { generate: "urlsafe:32" }
    previous: SECRET_KEY_PREVIOUS
  DB_PASSWORD:
    description: Password of the agents database role
    tier: 1
    rotation: on-compromise
    source: { generate: "password:24" }
`,
  );
  return dir;
}

const PRINT_ENV = `process.stdout.write(JSON.stringify({ s: process.env.SECRET_KEY ?? null, p: process.env.SECRET_KEY_PREVIOUS ?? null, d: process.env.DATABASE_URL ?? null }))`;

describe('coffer rotate (seed 004 procedures through the CLI)', () => {
  it('OPENAI_API_KEY: steps printed, new value from stdin, old version listed for revocation', () => {
    const h = makeHome();
    const dir = project(h);
    const env = { ...h.env, COFFER_MASTER_KEY: randomBytes(32).toString('base64') };
    const run = (args: string[], input = '') => h.run(args, { env, cwd: dir, input });
    expect(run(['init']).code).toBe(0);
    const desc = ['--description', 'LLM access for the support assistant summaries'];
    expect(
      run(['set', 'project/agents/openai_api_key', ...desc, '--env', 'prod'], 'sk-old-1').code,
    ).toBe(0);
    const noValue = run(['rotate', 'project/agents/openai_api_key', '--env', 'prod']);
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toContain('platform.openai.com/api-keys');
    expect(noValue.stderr).toContain('not generated by coffer');
    const r = run(
      ['rotate', 'project/agents/openai_api_key', '--env', 'prod', '--value-stdin', '--grace', '0'],
      'sk-new-2\n',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('2. Create new key');
    expect(r.stdout).toContain('version 1 -> 2');
    expect(r.stdout).toContain('revoke the old key (version 1) at the provider');
    expect(run(['get', 'project/agents/openai_api_key', '--env', 'prod']).stdout).toBe(
      'sk-new-2\n',
    );
    const audit = run(['audit', '--json', '-n', '50']);
    expect(audit.stdout).toContain('"rotate"');
    for (const x of [noValue, r, audit])
      expect(x.stdout + x.stderr).not.toMatch(/sk-old-1|sk-new-2/);
  });

  it('--previous-name NODE_OPTIONS: refused and audited before the steps or a value are asked for', () => {
    const h = makeHome();
    const dir = project(h);
    const env = { ...h.env, COFFER_MASTER_KEY: randomBytes(32).toString('base64') };
    const run = (args: string[], input = '') => h.run(args, { env, cwd: dir, input });
    expect(run(['init']).code).toBe(0);
    const path = 'project/agents/openai_api_key';
    const desc = ['--description', 'LLM access for the support assistant summaries'];
    expect(run(['set', path, ...desc, '--env', 'prod'], 'sk-old-Rn4').code).toBe(0);
    const r = run(
      ['rotate', path, '--env', 'prod', '--value-stdin', '--previous-name', 'NODE_OPTIONS'],
      'sk-new-Rn5\n',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the previous name NODE_OPTIONS');
    expect(r.stderr).not.toContain('platform.openai.com');
    expect(run(['get', path, '--env', 'prod']).stdout).toBe('sk-old-Rn4\n');
    const audit = run(['audit', '--json', '-n', '50']);
    const records = auditRecords(audit);
    expect(records.filter((x) => x.outcome === 'denied')).toEqual([
      expect.objectContaining({
        action: 'rotate',
        path,
        env: 'prod',
        detail: expect.stringMatching(/^ENV_NAME_REFUSED NODE_OPTIONS: /),
      }),
    ]);
    expect(records.filter((x) => x.action.startsWith('rotate_'))).toEqual([]);
    expect(audit.stdout).not.toMatch(/sk-old-Rn4|sk-new-Rn5/);
  });

  it('a previous: name allow_env_names allows passes manifest check and rotate alike, and run injects it', () => {
    const h = makeHome();
    const dir = join(h.home, 'web');
    mkdirSync(dir);
    // CFLAGS is refused (make passes it to the compiler) unless allowed; node ignores it. The
    // comma form of allow_env_names, which run's reading of coffer.yaml takes too.
    writeFileSync(
      join(dir, 'coffer.yaml'),
      `project: web
allow_env_names: cflags
variables:
  SESSION_KEY:
    description: Signs the session cookies of the web app
    source: { generate: "urlsafe:32" }
    previous: CFLAGS
`,
    );
    const env = { ...h.env, COFFER_MASTER_KEY: randomBytes(32).toString('base64') };
    const run = (args: string[]) => h.run(args, { env, cwd: dir });
    expect(run(['init']).code).toBe(0);
    expect(run(['setup', '--env', 'dev']).code).toBe(0);
    const check = run(['manifest', 'check']);
    expect(check.code, check.stderr).toBe(0);
    const before = run(['get', 'project/web/session_key']).stdout.trim();
    const rotated = run(['rotate', 'project/web/session_key', '--grace', '1d']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toContain('as CFLAGS');
    const print = `process.stdout.write(process.env.CFLAGS ?? '')`;
    const out = run(['run', '--no-mask', '--', process.execPath, '-e', print]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toBe(before);

    // --previous-name: allowed by --allow-env-name, refused without it (audited).
    const other = 'project/web/csrf_key';
    const desc = ['--description', 'Signs the CSRF tokens of the web forms'];
    expect(h.run(['set', other, ...desc], { env, cwd: dir, input: 'csrf-v1-Qz8' }).code).toBe(0);
    const value = ['--value-stdin', '--grace', '1d', '--previous-name', 'LDFLAGS'];
    const refused = h.run(['rotate', other, ...value], { env, cwd: dir, input: 'csrf-v2-Qz9' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--allow-env-name LDFLAGS');
    const allowed = h.run(['rotate', other, ...value, '--allow-env-name', 'LDFLAGS'], {
      env,
      cwd: dir,
      input: 'csrf-v2-Qz9',
    });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain('as LDFLAGS');
    const denied = auditRecords(run(['audit', '--json', '-n', '50'])).filter(
      (x) => x.outcome === 'denied',
    );
    expect(denied).toEqual([
      expect.objectContaining({
        action: 'rotate',
        path: other,
        detail: expect.stringMatching(/^ENV_NAME_REFUSED LDFLAGS: /),
      }),
    ]);
  });

  it('rotate --sync says, and audits, that it leaves out the previous value under a refused name', () => {
    const h = makeHome();
    const dir = join(h.home, 'web');
    mkdirSync(dir);
    const env = { ...h.env, COFFER_MASTER_KEY: randomBytes(32).toString('base64') };
    const run = (args: string[], input = '') => h.run(args, { env, cwd: dir, input });
    expect(run(['init']).code).toBe(0);
    const path = 'project/web/api_key';
    const desc = ['--description', 'Key the web app calls the payment provider with'];
    expect(run(['set', path, ...desc], 'pay-v1-Tw2').code).toBe(0);
    const pulled = run(['env', 'pull', '--project', 'web', '--file', '.env']);
    expect(pulled.code, pulled.stderr).toBe(0);
    const r = run(
      [
        'rotate',
        path,
        '--value-stdin',
        '--grace',
        '1d',
        '--previous-name',
        'LDFLAGS',
        '--allow-env-name',
        'LDFLAGS',
        '--sync',
      ],
      'pay-v2-Tw3',
    );
    expect(r.code, r.stderr).toBe(0);
    const file = join(dir, '.env');
    expect(r.stdout).toContain(`rewrote: ${file} (API_KEY)`);
    expect(r.stdout).toContain(
      `not written: ${file} (LDFLAGS): the previous value is not written beside the new one`,
    );
    expect(dotenv.parse(readFileSync(file, 'utf8'))).toEqual({ API_KEY: 'pay-v2-Tw3' });
    const audit = run(['audit', '--json', '-n', '50']);
    expect(auditRecords(audit).filter((x) => x.outcome === 'denied')).toEqual([
      expect.objectContaining({
        action: 'rotate_sync',
        path,
        detail: expect.stringMatching(/^ENV_NAME_REFUSED LDFLAGS: /),
      }),
    ]);
    for (const x of [r, audit]) expect(x.stdout + x.stderr).not.toMatch(/pay-v\d-Tw/);
  });

  it('SECRET_KEY: generated, previous injected by run and env pull during grace, then finished; DATABASE_URL follows its password', () => {
    const h = makeHome();
    const dir = project(h);
    const env = { ...h.env, COFFER_MASTER_KEY: randomBytes(32).toString('base64') };
    const run = (args: string[], input = '') => h.run(args, { env, cwd: dir, input });
    expect(run(['init']).code).toBe(0);
    const openai = ['--description', 'LLM access for the support assistant summaries'];
    expect(run(['set', 'project/agents/openai_api_key', ...openai], 'sk-dev-1').code).toBe(0);
    const setup = run(['setup', '--env', 'dev']);
    expect(setup.code, setup.stderr).toBe(0);
    writeFileSync(
      join(dir, '.env.refs'),
      'DATABASE_URL=postgres://agents:{{ coffer://project/agents/db_password }}@db:5432/agents\n',
    );
    const show = () => {
      const out = run([
        'run',
        '--no-mask',
        '--project',
        'agents',
        '--',
        process.execPath,
        '-e',
        PRINT_ENV,
      ]);
      expect(out.code, out.stderr).toBe(0);
      return JSON.parse(out.stdout) as { s: string; p: string | null };
    };
    const url = () => {
      const out = run([
        'run',
        '--no-mask',
        '--dotenv',
        '.env.refs',
        '--',
        process.execPath,
        '-e',
        PRINT_ENV,
      ]);
      expect(out.code, out.stderr).toBe(0);
      return (JSON.parse(out.stdout) as { d: string }).d;
    };
    const before = show();
    expect(before.p).toBeNull();
    // Where the value went: a .env file (path and names audited) and a program (argv[0]).
    expect(run(['env', 'pull', '--project', 'agents', '--file', '.env']).code).toBe(0);
    const audit = JSON.parse(run(['audit', '--json', '-n', '200']).stdout) as {
      records: { action: string; path: string | null; detail: string | null }[];
    };
    const writes = audit.records.filter(
      (r) => r.action === 'file_write' && r.path === 'project/agents/secret_key',
    );
    expect(writes).toHaveLength(1);
    expect(JSON.parse(writes[0]!.detail!)).toEqual({
      file: join(dir, '.env'),
      name: 'SECRET_KEY',
      via: 'env pull',
    });
    expect(
      audit.records.some((r) => r.action === 'get' && r.detail === `run: ${process.execPath}`),
    ).toBe(true);
    const rotated = run(['rotate', 'project/agents/secret_key', '--grace', '7d']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toContain('inject version 1 as SECRET_KEY_PREVIOUS');
    expect(rotated.stdout).toContain(`stale: ${join(dir, '.env')} holds SECRET_KEY version 1`);
    expect(rotated.stdout).toContain(`restart: ${process.execPath} got version 1`);
    const during = show();
    expect(during.s).not.toBe(before.s);
    expect(during.p).toBe(before.s);
    const pulled = run(['env', 'pull', '--project', 'agents', '--file', '-']);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.stdout).toContain('SECRET_KEY_PREVIOUS=');
    const status = run(['rotation', 'status', '--json']);
    const items = (JSON.parse(status.stdout) as { items: { path: string; state: string }[] }).items;
    expect(items.find((i) => i.path === 'project/agents/secret_key')!.state).toBe('in-grace');
    // A value or a name for a rotation is refused with --finish, not read and dropped.
    const mixed = run(['rotate', '--finish', 'project/agents/secret_key', '--value-stdin']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('--value-stdin goes with a rotation, not with --finish');
    const fin = run(['rotate', '--finish', 'project/agents/secret_key']);
    expect(fin.code, fin.stderr).toBe(0);
    expect(fin.stderr).toContain('retired version 1');
    const after = show();
    expect(after).toMatchObject({ s: during.s, p: null });

    // DATABASE_URL is derived from the password: rotating the password changes the URL.
    const url1 = url();
    expect(url1).toMatch(/^postgres:\/\/agents:.+@db:5432\/agents$/);
    expect(run(['rotate', 'project/agents/db_password', '--grace', '0']).code).toBe(0);
    const url2 = url();
    expect(url2).not.toBe(url1);
    expect(url2).toMatch(/^postgres:\/\/agents:.+@db:5432\/agents$/);
  });

  it('a key list: the rewrap step is printed and --finish refuses until --rewrapped', () => {
    const h = makeHome();
    const env = { ...h.env, COFFER_MASTER_KEY: randomBytes(32).toString('base64') };
    const run = (args: string[], input = '') => h.run(args, { env, input });
    expect(run(['init']).code).toBe(0);
    const k1 = `k1:${randomBytes(32).toString('base64')}`;
    expect(
      run(
        ['set', 'project/agents/data_keys', '-d', 'Encrypts stored provider credentials at rest'],
        k1,
      ).code,
    ).toBe(0);
    const r = run(['rotate', 'project/agents/data_keys']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('coffer envelope rewrap --keys-from project/agents/data_keys');
    expect(r.stdout).not.toContain(k1.slice(3));
    const early = run(['rotate', '--finish', 'project/agents/data_keys']);
    expect(early.code).toBe(2);
    expect(early.stderr).toContain('coffer envelope rewrap');
    expect(run(['rotate', '--finish', 'project/agents/data_keys', '--rewrapped']).code).toBe(0);
    const value = run(['get', 'project/agents/data_keys']).stdout.trim();
    expect(value.startsWith('k2:')).toBe(true);
    expect(value).not.toContain(',');
  });
});

describe('coffer rotate --sync', () => {
  it('rewrites the .env files coffer wrote the old value into, lists what it rewrote and what not', () => {
    const h = makeHome();
    const env = { ...h.env, COFFER_MASTER_KEY: randomBytes(32).toString('base64') };
    const run = (args: string[], input = '') => h.run(args, { env, cwd: h.home, input });
    expect(run(['init']).code).toBe(0);
    const path = 'project/web/session_key';
    const gen = run([
      'generate',
      'SESSION_KEY',
      '--kind',
      'hex',
      '--store',
      path,
      '-d',
      'Signs session cookies of the web app',
      '--dotenv',
      'a.env',
    ]);
    expect(gen.code, gen.stderr).toBe(0);
    writeFileSync(join(h.home, 'b.env'), '# kept\nOTHER=1\n');
    expect(run(['env', 'pull', '-p', 'web', '--file', 'b.env']).code).toBe(0);
    writeFileSync(join(h.home, 'gone.env'), '');
    expect(run(['env', 'pull', '-p', 'web', '--file', 'gone.env']).code).toBe(0);
    rmSync(join(h.home, 'gone.env'));
    writeFileSync(join(h.home, 'c.tpl'), `key: {{ coffer://${path} }}\n`);
    expect(run(['inject', '-i', 'c.tpl', '-o', 'c.yaml']).code).toBe(0);
    const old = run(['get', path]).stdout.trim();

    const r = run(['rotate', path, '--grace', '0', '--sync', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const fresh = run(['get', path]).stdout.trim();
    expect(fresh).not.toBe(old);
    const out = JSON.parse(r.stdout) as {
      synced: { file: string; name: string | null; reference: string | null; outcome: string }[];
      staleFiles: { file: string; name: string | null; reference: string | null; via: string }[];
    };
    const byFile = Object.fromEntries(
      out.synced.map((f) => [f.file.slice(h.home.length + 1), f.outcome]),
    );
    expect(byFile).toEqual({
      'a.env': 'rewritten',
      'b.env': 'rewritten',
      'gone.env': 'missing',
      'c.yaml': 'not-dotenv',
    });
    expect(out.staleFiles.map((f) => f.file.slice(h.home.length + 1)).sort()).toEqual([
      'c.yaml',
      'gone.env',
    ]);
    // The template's output holds the reference's value, under no variable name.
    const reference = `coffer://${path}?env=dev`;
    const yaml = join(h.home, 'c.yaml');
    expect(out.staleFiles.find((f) => f.file === yaml)).toMatchObject({
      name: null,
      reference,
      via: 'inject',
    });
    expect(out.synced.find((f) => f.file === yaml)).toMatchObject({ name: null, reference });
    expect(out.synced.find((f) => f.file.endsWith('a.env'))).toMatchObject({
      name: 'SESSION_KEY',
      reference: null,
    });
    expect(r.stdout).not.toContain(fresh);
    expect(r.stdout).not.toContain(old);
    expect(dotenv.parse(readFileSync(join(h.home, 'a.env'))).SESSION_KEY).toBe(fresh);
    expect(readFileSync(join(h.home, 'b.env'), 'utf8')).toContain('# kept\nOTHER=1\n');
    expect(dotenv.parse(readFileSync(join(h.home, 'b.env'))).SESSION_KEY).toBe(fresh);
    expect(statSync(join(h.home, 'b.env')).mode & 0o777).toBe(0o600);
    // The rewrites are file writes in turn: a second rotation lists them as stale again.
    const again = run(['rotate', path, '--grace', '0', '--json']);
    const stale = (JSON.parse(again.stdout) as { staleFiles: { file: string; via: string }[] })
      .staleFiles;
    expect(
      stale
        .filter((f) => f.via === 'rotate --sync')
        .map((f) => f.file.slice(h.home.length + 1))
        .sort(),
    ).toEqual(['a.env', 'b.env']);
    // Text output names what was rewritten.
    const text = run(['rotate', path, '--grace', '0', '--sync']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`rewrote: ${join(h.home, 'a.env')} (SESSION_KEY)`);
    expect(text.stdout).toContain(
      `not rewritten: ${yaml} (${reference}): written by coffer inject: run it again`,
    );
    expect(text.stdout).toContain(`stale: ${yaml} holds ${reference} version 1 `);
    expect(text.stdout).toMatch(/stale: \S+c\.yaml .*: run coffer inject again\n/);
    expect(text.stdout).not.toMatch(/c\.yaml.*SESSION_KEY/);
    expect(run(['rotate', '--finish', path, '--sync']).code).toBe(2);
  });
});

describe('coffer rotate --sync during a grace window', () => {
  it('writes the previous value under its previous: name beside the new one, as env pull does', () => {
    const h = makeHome();
    const dir = project(h);
    const env = { ...h.env, COFFER_MASTER_KEY: randomBytes(32).toString('base64') };
    const run = (args: string[], input = '') => h.run(args, { env, cwd: dir, input });
    expect(run(['init']).code).toBe(0);
    const openai = ['--description', 'LLM access for the support assistant summaries'];
    expect(run(['set', 'project/agents/openai_api_key', ...openai], 'sk-dev-1').code).toBe(0);
    expect(run(['setup', '--env', 'dev']).code).toBe(0);
    expect(run(['env', 'pull', '--project', 'agents', '--file', 'app.env']).code).toBe(0);
    const path = 'project/agents/secret_key';
    const old = run(['get', path]).stdout.trim();

    const r = run(['rotate', path, '--grace', '7d', '--sync', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const fresh = run(['get', path]).stdout.trim();
    expect(fresh).not.toBe(old);
    expect(r.stdout).not.toContain(old);
    expect(r.stdout).not.toContain(fresh);
    const file = dotenv.parse(readFileSync(join(dir, 'app.env')));
    expect(file.SECRET_KEY).toBe(fresh);
    expect(file.SECRET_KEY_PREVIOUS).toBe(old);
    // What env pull writes at this moment is the same file.
    expect(run(['env', 'pull', '--project', 'agents', '--file', 'pulled.env']).code).toBe(0);
    const pulled = dotenv.parse(readFileSync(join(dir, 'pulled.env')));
    expect(pulled.SECRET_KEY_PREVIOUS).toBe(file.SECRET_KEY_PREVIOUS);
    expect(pulled.SECRET_KEY).toBe(file.SECRET_KEY);

    // Finished: the retired value comes out of the files (env pull, and rotate --sync).
    const fin = run(['rotate', '--finish', path]);
    expect(fin.code, fin.stderr).toBe(0);
    expect(fin.stderr).toContain('SECRET_KEY_PREVIOUS');
    const pull = run(['env', 'pull', '--project', 'agents', '--file', 'app.env', '--json']);
    expect(pull.code, pull.stderr).toBe(0);
    expect(JSON.parse(pull.stdout).changes).toEqual([
      { name: 'SECRET_KEY_PREVIOUS', action: 'remove' },
    ]);
    const cleaned = dotenv.parse(readFileSync(join(dir, 'app.env')));
    expect(cleaned.SECRET_KEY_PREVIOUS).toBeUndefined();
    expect(cleaned.SECRET_KEY).toBe(fresh);
    expect(run(['rotate', path, '--grace', '0', '--sync']).code).toBe(0);
    const synced = dotenv.parse(readFileSync(join(dir, 'pulled.env')));
    expect(synced.SECRET_KEY_PREVIOUS).toBeUndefined();
    expect(synced.SECRET_KEY).toBe(run(['get', path]).stdout.trim());
  });
});

describe('coffer incident', () => {
  it('guides, resumes, writes a report without the value, lists and closes', () => {
    const h = makeHome();
    const env = { ...h.env, COFFER_MASTER_KEY: randomBytes(32).toString('base64') };
    const run = (args: string[], input = '') => h.run(args, { env, cwd: h.home, input });
    expect(run(['init']).code).toBe(0);
    const d = ['-d', 'LLM access for the support assistant summaries', '--env', 'prod'];
    expect(run(['set', 'project/agents/openai_api_key', ...d], 'sk-leaked-value-1').code).toBe(0);
    for (const f of ['web.env', 'worker.env'])
      expect(run(['env', 'pull', '-p', 'agents', '--env', 'prod', '--file', f]).code).toBe(0);
    const reference = 'coffer://project/agents/openai_api_key?env=prod';
    writeFileSync(
      join(h.home, 'app.tpl'),
      'openai:\n  key: {{ coffer://project/agents/openai_api_key }}\n',
    );
    const inject = run(['inject', '-i', 'app.tpl', '-o', 'app.yaml', '--env', 'prod']);
    expect(inject.code, inject.stderr).toBe(0);
    const args = ['incident', 'project/agents/openai_api_key', '--env', 'prod'];
    // A report file that is already there (not this incident's) is not replaced.
    writeFileSync(join(h.home, 'notes.md'), '# my notes\n');
    const taken = run([...args, '--value-stdin', '--report', 'notes.md'], 'sk-unused');
    expect(taken.code).toBe(5);
    expect(taken.stderr).toContain('notes.md already exists');
    expect(readFileSync(join(h.home, 'notes.md'), 'utf8')).toBe('# my notes\n');
    const r = run(
      [...args, '--where', 'pasted in a public issue', '--value-stdin', '--report', 'incident.md'],
      'sk-new-value-2',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`update file: ${join(h.home, 'web.env')}`);
    expect(r.stdout).toContain(`update file: ${join(h.home, 'worker.env')} (OPENAI_API_KEY)`);
    // The rendered template holds the reference's value: it is listed by that reference.
    expect(r.stdout).toContain(`update file: ${join(h.home, 'app.yaml')} (${reference})`);
    const report = readFileSync(join(h.home, 'incident.md'), 'utf8');
    expect(report).toContain(
      `- file ${join(h.home, 'app.yaml')}: ${reference} (version 1, written by inject`,
    );
    expect(report).toMatch(/\| marked compromised \|/);
    expect(report).toMatch(/\| rotated \| version 1 -> 2 \(external\) \|/);
    expect(report).not.toMatch(/sk-leaked|sk-new/);
    // Resumed with another report file that exists: not replaced either.
    writeFileSync(join(h.home, 'notes2.md'), '# keep me\n');
    const other = run([...args, '--report', 'notes2.md']);
    expect(other.code).toBe(5);
    expect(readFileSync(join(h.home, 'notes2.md'), 'utf8')).toBe('# keep me\n');
    // A second run resumes: no second rotation.
    const again = run([...args, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('resumed incident');
    const rec = JSON.parse(again.stdout) as { incident: { id: string; steps: { step: string }[] } };
    expect(rec.incident.steps.filter((s) => s.step === 'rotated')).toHaveLength(1);
    expect(run(['get', 'project/agents/openai_api_key', '--env', 'prod']).stdout).toBe(
      'sk-new-value-2\n',
    );
    expect(run(['incident', 'list']).stdout).toContain(rec.incident.id);
    expect(run(['incident', 'close', rec.incident.id]).code).toBe(0);
    const list = JSON.parse(run(['incident', 'list', '--json']).stdout) as {
      incidents: { closedAt: string | null }[];
    };
    expect(list.incidents[0]!.closedAt).not.toBeNull();
  });

  it('incident rotates a secret the manifest generates, as rotate does (no value asked)', () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const cwd = join(h.home, 'mp');
    mkdirSync(cwd);
    writeFileSync(
      join(cwd, 'coffer.yaml'),
      'project: mp\nenvironments: [dev]\nvariables:\n  JWT_SECRET:\n    description: Signs the session tokens of the app\n    source: { generate: "hex:32" }\n',
    );
    const set = h.run(
      ['set', 'project/mp/jwt_secret', '-d', 'Signs the session tokens of the app'],
      {
        input: 'leaked-jwt-secret-value',
        cwd,
      },
    );
    expect(set.code, set.stderr).toBe(0);
    const r = h.run(['incident', 'project/mp/jwt_secret', '--where', 'a log'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('rotated: version 1 -> 2');
    expect(h.run(['get', 'project/mp/jwt_secret'], { cwd }).stdout).toMatch(/^[0-9a-f]{64}\n$/);
  });
});
