/**
 * What `coffer run` and the .env writers put into other programs, through the built binary:
 * names that change how programs load code are refused unless allowed on this machine;
 * coffer's own credentials never reach the child unless passed on by name; a stored value
 * the OS cannot carry (NUL) is skipped by name, never printed. A `PS1` that a .env file would
 * hand to an interactive bash is shown to run its command substitution, and to be refused.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vault } from '../../src/core/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { RUNS_CODE } from '../helpers/code-names.js';
import { type FakeServer, startFakeServer } from './fake-server.js';
import { auditRecords, finished, makeHome, spawnCoffer } from './harness.js';
import { startMcp } from './mcp-harness.js';

const EVIL = "require('fs').writeFileSync(process.env.MARKER, 'ran');";
const API_KEY = 'sk_live_inject_Zx81';

/** A vault with project `app`: api_key, and node_options whose value preloads evil.js. */
function project() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const dir = join(h.home, 'app');
  mkdirSync(dir);
  const evil = join(dir, 'evil.js');
  writeFileSync(evil, EVIL);
  const marker = join(h.home, 'marker');
  const set = (path: string, value: string, description: string) => {
    const r = h.run(['set', path, '-d', description], { input: value });
    expect(r.code, r.stderr).toBe(0);
  };
  set('project/app/api_key', API_KEY, 'Stripe API key for the app');
  set('project/app/node_options', `--require ${evil}`, 'Node runtime flags for the app');
  const run = (args: string[], cwd?: string) =>
    h.run(args, { env: { MARKER: marker }, ...(cwd ? { cwd } : {}) });
  return { h, dir, marker, run };
}

const PRINT = ['--', process.execPath, '-e', 'console.log(process.env.API_KEY ?? "")'];

describe('coffer run refuses names that load code', () => {
  it('a secret named node_options runs no code: the whole run fails (exit 2), naming it', () => {
    const { marker, run } = project();
    const r = run(['run', '--no-mask', '--project', 'app', ...PRINT]);
    expect(r.code).toBe(2);
    expect(existsSync(marker)).toBe(false);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('NODE_OPTIONS');
    expect(r.stderr).toContain('project/app/node_options');
    expect(r.stderr).toContain('--allow-env-name NODE_OPTIONS');
    expect(r.stderr).not.toContain('evil.js');
  });

  it('the refusal is audited: one denied run record for the variable, never its value', () => {
    const { h, run } = project();
    expect(run(['run', '--no-mask', '--project', 'app', ...PRINT]).code).toBe(2);
    const audit = h.run(['audit', '--json', '-n', '100']);
    const denied = auditRecords(audit).filter((x) => x.outcome === 'denied');
    expect(denied).toEqual([
      expect.objectContaining({
        action: 'run',
        path: 'project/app/node_options',
        env: 'dev',
        detail: expect.stringMatching(/^ENV_NAME_REFUSED NODE_OPTIONS: /),
      }),
    ]);
    expect(audit.stdout).not.toContain('evil.js');
    expect(audit.stdout).not.toContain(API_KEY);
  });

  it('whatever env-var metadata produced the name, in any case', () => {
    const { h, marker, run } = project();
    expect(h.run(['delete', 'project/app/node_options']).code).toBe(0);
    const s = h.run(['set', 'project/app/flags', '-d', 'Runtime flags for the app'], {
      input: '--require ./x.js',
    });
    expect(s.code, s.stderr).toBe(0);
    expect(run(['run', '--no-mask', '--project', 'app', ...PRINT]).code).toBe(0);
    for (const name of ['NODE_OPTIONS', 'node_options', 'LD_PRELOAD', 'PATH', 'GIT_SSH_COMMAND']) {
      const d = h.run(['describe', 'project/app/flags', '--env-var', name]);
      expect(d.code, d.stderr).toBe(0);
      const r = run(['run', '--no-mask', '--project', 'app', ...PRINT]);
      expect(r.code, name).toBe(2);
      expect(r.stderr).toContain(name);
      expect(r.stderr).toContain('project/app/flags');
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('the operator allows a name on this machine: --allow-env-name, or the project file', () => {
    const { h, dir, marker, run } = project();
    const r = run([
      'run',
      '--no-mask',
      '--project',
      'app',
      '--allow-env-name',
      'NODE_OPTIONS',
      ...PRINT,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${API_KEY}\n`);
    expect(readFileSync(marker, 'utf8')).toBe('ran');

    // A project file of another project allows nothing for this one.
    const other = join(h.home, 'other');
    mkdirSync(other);
    writeFileSync(join(other, '.coffer'), 'project=other\nallow_env_names=NODE_OPTIONS\n');
    expect(run(['run', '--no-mask', '--project', 'app', ...PRINT], other).code).toBe(2);

    writeFileSync(join(dir, '.coffer'), 'project=app\nallow_env_names=NODE_OPTIONS,PATH\n');
    const f = run(['run', '--no-mask', ...PRINT], dir);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stdout).toBe(`${API_KEY}\n`);
  });

  it('coffer.yaml can allow a name too', () => {
    const { dir, run } = project();
    writeFileSync(join(dir, 'coffer.yaml'), 'project: app\nallow_env_names: NODE_OPTIONS\n');
    expect(run(['run', '--no-mask', ...PRINT], dir).code).toBe(0);
    writeFileSync(join(dir, 'coffer.yaml'), 'project: app\n');
    expect(run(['run', '--no-mask', ...PRINT], dir).code).toBe(2);
  });
});

describe('.env writers apply the same rule', () => {
  it('env pull refuses before writing anything, and writes with --allow-env-name', () => {
    const { dir, run } = project();
    const file = join(dir, '.env');
    writeFileSync(file, 'KEEP=1\n');
    const r = run(['env', 'pull', '--project', 'app', '--file', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('NODE_OPTIONS');
    expect(r.stderr).toContain('project/app/node_options');
    expect(readFileSync(file, 'utf8')).toBe('KEEP=1\n');
    const ok = run([
      'env',
      'pull',
      '--project',
      'app',
      '--file',
      file,
      '--allow-env-name',
      'NODE_OPTIONS',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('NODE_OPTIONS=');
  });

  it('set --dotenv refuses a refused --env-var before storing; generate refuses NAME', () => {
    const { h, dir, run } = project();
    const file = join(dir, '.env');
    const s = h.run(
      [
        'set',
        'project/app/loader',
        '-d',
        'Loader settings for the app',
        '-f',
        file,
        '--env-var',
        'LD_PRELOAD',
      ],
      { input: '/tmp/x.so' },
    );
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('LD_PRELOAD');
    expect(existsSync(file)).toBe(false);
    expect(h.run(['get', 'project/app/loader']).code).toBe(3);
    const g = run(['generate', 'BASH_ENV', '-f', file]);
    expect(g.code).toBe(2);
    expect(g.stderr).toContain('BASH_ENV');
    expect(existsSync(file)).toBe(false);
    const allowed = run(['generate', 'BASH_ENV', '-f', file, '--allow-env-name', 'BASH_ENV']);
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it('env format refuses what run refuses, and takes --allow-env-name as run does', () => {
    const h = makeHome();
    const input = JSON.stringify({ PORT: '8080', node_options: '--require ./evil-Fm1.js' });
    const r = h.run(['env', 'format', '--json'], { input });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('node_options (from stdin: Node.js runs');
    expect(r.stderr).toContain('--allow-env-name node_options');
    expect(r.stderr).not.toContain('evil-Fm1');
    const file = join(h.home, 'vars.json');
    writeFileSync(file, JSON.stringify({ LD_PRELOAD: '/tmp/x.so', PS1: '$(id)' }));
    const two = h.run(['env', 'format', '--json', file, '--allow-env-name', 'PS1']);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain(`LD_PRELOAD (from ${file}:`);
    expect(two.stderr).not.toContain('PS1 (from');
    const ok = h.run(['env', 'format', '--json', '--allow-env-name', 'NODE_OPTIONS'], { input });
    expect(ok.code, ok.stderr).toBe(0);
    expect(dotenv.parse(ok.stdout)).toEqual(JSON.parse(input));
  });

  it('generate --dotenv alone and env format audit a refusal in the vault when there is one', () => {
    // No vault on this machine: refused all the same, with no log to write to, and none made.
    const bare = makeHome();
    const env = join(bare.home, '.env');
    const input = JSON.stringify({ NODE_OPTIONS: '--require ./evil-Fm2.js' });
    for (const r of [
      bare.run(['generate', 'BASH_ENV', '-f', env]),
      bare.run(['env', 'format', '--json'], { input }),
    ]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('refused to write');
      expect(r.stderr).not.toContain('warning');
    }
    expect(existsSync(bare.env.COFFER_HOME!)).toBe(false);
    expect(existsSync(env)).toBe(false);

    // A vault: each refused name is a denied record, without key path or environment.
    const { h, dir, run } = project();
    const file = join(dir, '.env');
    expect(run(['generate', 'BASH_ENV', '-f', file]).code).toBe(2);
    expect(h.run(['env', 'format', '--json'], { input }).code).toBe(2);
    expect(
      h.run(['env', 'format', '--json', '--allow-env-name', 'NODE_OPTIONS'], { input }).code,
    ).toBe(0);
    // A vault that cannot be opened without asking (its key file gone): not recorded, and said.
    const key = join(h.env.COFFER_HOME!, 'master.key');
    renameSync(key, `${key}.away`);
    const unopened = run(['generate', 'LD_PRELOAD', '-f', file]);
    expect(unopened.code).toBe(2);
    expect(unopened.stderr).toContain('warning: the refusal is not in the audit log');
    renameSync(`${key}.away`, key);
    expect(existsSync(file)).toBe(false);

    const audit = h.run(['audit', '--json', '-n', '100']);
    const denied = auditRecords(audit)
      .filter((x) => x.outcome === 'denied')
      .map((x) => ({ action: x.action, path: x.path, env: x.env, detail: x.detail }));
    expect(denied).toEqual([
      {
        action: 'generate',
        path: null,
        env: null,
        detail: expect.stringMatching(/^ENV_NAME_REFUSED BASH_ENV: /),
      },
      {
        action: 'env_format',
        path: null,
        env: null,
        detail: expect.stringMatching(/^ENV_NAME_REFUSED NODE_OPTIONS: /),
      },
    ]);
    expect(audit.stdout).not.toContain('evil-Fm2');
  });

  it('env pull, set --dotenv and generate --store audit each refusal as denied, never a value', () => {
    const { h, dir, run } = project();
    const file = join(dir, '.env');
    expect(run(['env', 'pull', '--project', 'app', '--file', file]).code).toBe(2);
    expect(run(['env', 'pull', '--project', 'app', '--file', file, '--references']).code).toBe(2);
    const set = h.run(
      ['set', 'project/app/loader', '-d', 'Loader settings for the app', '-f', file],
      { input: '/tmp/loader-Jk2.so' },
    );
    expect(set.code, set.stderr).toBe(0);
    // A name set in the vault's metadata (describe --env-var) is refused before the value is
    // stored: the vault keeps version 1, and the file is not written.
    expect(h.run(['describe', 'project/app/loader', '--env-var', 'LD_PRELOAD']).code).toBe(0);
    const again = h.run(['set', 'project/app/loader', '-f', file], { input: '/tmp/loader-Jk3.so' });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('LD_PRELOAD');
    expect(again.stderr).not.toContain('stored');
    const kept = h.run(['get', 'project/app/loader', '--json']);
    expect(JSON.parse(kept.stdout)).toMatchObject({ version: 1, value: '/tmp/loader-Jk2.so' });
    expect(readFileSync(file, 'utf8')).not.toContain('LD_PRELOAD');
    // ... and one given with --env-var at the first, before the value is read or stored.
    const named = h.run(
      [
        'set',
        'project/app/ssh',
        '-d',
        'SSH command for the app',
        '-f',
        file,
        '--env-var',
        'GIT_SSH_COMMAND',
      ],
      { input: 'ssh -o ProxyCommand=evil-Jk4' },
    );
    expect(named.code).toBe(2);
    expect(h.run(['get', 'project/app/ssh']).code).toBe(3);
    const gen = run([
      'generate',
      'BASH_ENV',
      '--store',
      'project/app/bash_env',
      '-d',
      'Shell start-up file for the app',
      '-f',
      file,
    ]);
    expect(gen.code).toBe(2);
    expect(h.run(['get', 'project/app/bash_env']).code).toBe(3);

    const audit = h.run(['audit', '--json', '-n', '200']);
    // Each record's detail is `ENV_NAME_REFUSED NAME: why`; the why is the catalogue's.
    const denied = auditRecords(audit)
      .filter((x) => x.outcome === 'denied')
      .map((x) => ({
        action: x.action,
        path: x.path,
        env: x.env,
        detail: x.detail?.split(':')[0],
      }));
    expect(denied).toEqual([
      {
        action: 'env_pull',
        path: 'project/app/node_options',
        env: 'dev',
        detail: 'ENV_NAME_REFUSED NODE_OPTIONS',
      },
      {
        action: 'env_pull',
        path: 'project/app/node_options',
        env: 'dev',
        detail: 'ENV_NAME_REFUSED NODE_OPTIONS',
      },
      {
        action: 'set',
        path: 'project/app/loader',
        env: 'dev',
        detail: 'ENV_NAME_REFUSED LD_PRELOAD',
      },
      {
        action: 'set',
        path: 'project/app/ssh',
        env: 'dev',
        detail: 'ENV_NAME_REFUSED GIT_SSH_COMMAND',
      },
      {
        action: 'generate',
        path: 'project/app/bash_env',
        env: 'dev',
        detail: 'ENV_NAME_REFUSED BASH_ENV',
      },
    ]);
    for (const value of ['evil', API_KEY, 'loader-Jk']) expect(audit.stdout).not.toContain(value);
  });
});

describe("coffer run withholds coffer's own credentials", () => {
  const DUMP = ['--', process.execPath, '-e', 'console.log(JSON.stringify(process.env))'];

  it('locally: no master key, passphrase, token or key file reaches the child', () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const key = readFileSync(join(h.home, '.coffer', 'master.key'), 'utf8').trim();
    expect(
      h.run(['set', 'project/app/api_key', '-d', 'Stripe API key for the app'], { input: API_KEY })
        .code,
    ).toBe(0);
    const env = {
      COFFER_MASTER_KEY: key,
      COFFER_PASSPHRASE: 'correct horse battery staple',
      COFFER_TOKEN: 'coffer_tok_never_passed',
      COFFER_KEY_FILE: join(h.home, '.coffer', 'master.key'),
      COFFER_ENV: 'dev',
    };
    const r = h.run(['run', '--no-mask', '--project', 'app', ...DUMP], { env });
    expect(r.code, r.stderr).toBe(0);
    const child = JSON.parse(r.stdout) as Record<string, string>;
    expect(child.API_KEY).toBe(API_KEY);
    expect(child.COFFER_ENV).toBe('dev');
    for (const name of [
      'COFFER_MASTER_KEY',
      'COFFER_PASSPHRASE',
      'COFFER_TOKEN',
      'COFFER_KEY_FILE',
    ])
      expect(child[name], name).toBeUndefined();
    expect(r.stdout).not.toContain(key);
    const passed = h.run(
      ['run', '--no-mask', '--project', 'app', '--pass-env', 'COFFER_MASTER_KEY', ...DUMP],
      {
        env,
      },
    );
    expect(JSON.parse(passed.stdout).COFFER_MASTER_KEY).toBe(key);
    const bad = h.run(['run', '--no-mask', '--project', 'app', '--pass-env', 'HOME', ...DUMP], {
      env,
    });
    expect(bad.code).toBe(2);
  });

  describe('in remote mode', () => {
    const token = 'coffer_fake01_q0DPm6bH4vXc1nKz8sY2fLwR9aTeJ5uGhB7iNoVdE3x';
    let fake: FakeServer;
    const h = makeHome();
    const remote = (args: string[], input = '') =>
      finished(
        spawnCoffer(args, {
          input,
          env: { ...h.env, COFFER_URL: fake.url, COFFER_TOKEN: token },
        }),
      );
    beforeAll(async () => {
      fake = await startFakeServer(token);
    });
    afterAll(async () => {
      await fake?.close();
    });

    it('no COFFER_TOKEN in the child unless --pass-env COFFER_TOKEN', async () => {
      const s = await remote(
        ['set', 'project/app/api_key', '-d', 'Stripe API key for the app'],
        API_KEY,
      );
      expect(s.code, s.stderr).toBe(0);
      const r = await remote(['run', '--no-mask', '--project', 'app', ...DUMP]);
      expect(r.code, r.stderr).toBe(0);
      const child = JSON.parse(r.stdout) as Record<string, string>;
      expect(child.API_KEY).toBe(API_KEY);
      expect(child.COFFER_URL).toBe(fake.url);
      expect(child.COFFER_TOKEN).toBeUndefined();
      expect(r.stdout).not.toContain(token);
      const p = await remote([
        'run',
        '--no-mask',
        '--project',
        'app',
        '--pass-env',
        'COFFER_TOKEN',
        ...DUMP,
      ]);
      expect(JSON.parse(p.stdout).COFFER_TOKEN).toBe(token);
    });

    it('a stored value with a NUL is skipped with a warning naming it; the rest runs', async () => {
      // The fake server stores what it is sent, as a vault written before the NUL rule did.
      const s = await remote(
        ['set', 'project/app/blob', '-d', 'Binary blob for the app'],
        'bl\u0000ob-Qv7',
      );
      expect(s.code, s.stderr).toBe(0);
      const r = await remote(['run', '--no-mask', '--project', 'app', ...DUMP], '');
      const debug = await finished(
        spawnCoffer(['run', '--no-mask', '--project', 'app', ...DUMP], {
          env: { ...h.env, COFFER_URL: fake.url, COFFER_TOKEN: token, COFFER_DEBUG: '1' },
        }),
      );
      for (const out of [r, debug]) {
        expect(out.code, out.stderr).toBe(0);
        expect(JSON.parse(out.stdout).API_KEY).toBe(API_KEY);
        expect(JSON.parse(out.stdout).BLOB).toBeUndefined();
        expect(out.stderr).toContain('BLOB');
        expect(out.stderr).toContain('project/app/blob');
        expect(out.stderr).toContain('NUL');
        expect(out.stderr).not.toContain('Qv7');
      }
    });
  });
});

describe('NUL on input', () => {
  it('is refused with INVALID_VALUE (exit 2), never stored', () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const r = h.run(['set', 'project/app/blob', '-d', 'Binary blob for the app', '--json'], {
      input: 'a\u0000b-Qv7',
    });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe('INVALID_VALUE');
    expect(r.stderr).not.toContain('Qv7');
    expect(h.run(['get', 'project/app/blob']).code).toBe(3);
  });
});

describe('MCP: an agent cannot inject a name that loads code', () => {
  it('set_secret node_options, then write_env is refused naming it; nothing is written', async () => {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const cwd = join(h.home, 'work');
    mkdirSync(cwd);
    const mcp = await startMcp({ env: h.env, cwd, protocol: '2025-06-18' });
    try {
      const set = await mcp.call('set_secret', {
        keyPath: 'project/app/node_options',
        value: '--require ./evil-Mq4.js',
        description: 'Node runtime flags for the app',
      });
      expect(set.isError).toBeFalsy();
      const w = await mcp.call('write_env', { project: 'app' });
      expect(w.isError).toBe(true);
      const text = JSON.stringify(w);
      expect(text).toContain('ENV_NAME_REFUSED');
      expect(text).toContain('NODE_OPTIONS');
      expect(text).toContain('project/app/node_options');
      expect(text).not.toContain('Mq4');
      expect(existsSync(join(cwd, '.env'))).toBe(false);

      // Values are bytes here too: a leading U+FEFF survives set_secret and get_secret.
      const bom = await mcp.call('set_secret', {
        keyPath: 'project/app/bom',
        value: '\ufeffabc',
        description: 'Webhook signing secret of the app',
      });
      expect(bom.isError).toBeFalsy();
      const got = await mcp.call('get_secret', { keyPath: 'project/app/bom' });
      expect(got.structuredContent?.value).toBe('\ufeffabc');
    } finally {
      await mcp.close();
    }
  });
});

describe('names that make shells, Lua, pagers, Vim, go, cargo, make, JVM launchers, Erlang and .NET run code', () => {
  /** A vault whose project `tools` holds API_KEY and one secret under each of `names`. */
  async function tools(names: readonly string[], value: (name: string) => string) {
    const h = makeHome();
    expect(h.run(['init']).code).toBe(0);
    const storage = openSqliteStorage(join(h.home, '.coffer', 'vault.db'));
    const keyFile = join(h.home, '.coffer', 'master.key');
    const key = new Uint8Array(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64'));
    const vault = new Vault(storage, key, { actor: 'test:setup' });
    try {
      for (const [name, v] of [['API_KEY', API_KEY], ...names.map((n) => [n, value(n)])]) {
        await vault.set(`project/tools/${name!.toLowerCase()}`, 'dev', v!, {
          description: 'Start-up setting of the tools service',
        });
      }
    } finally {
      vault.close();
      await storage.close();
    }
    const dir = join(h.home, 'tools');
    mkdirSync(dir);
    return { h, dir, run: (args: string[]) => h.run(args, { cwd: dir }) };
  }

  it('each is refused by run, env pull and export, named with its key path, never its value', async () => {
    const { dir, run } = await tools(RUNS_CODE, (n) => `$(touch /tmp/pwned-${n})`);
    const commands = [
      ['run', '--no-mask', '--project', 'tools', ...PRINT],
      ['env', 'pull', '--project', 'tools', '--file', '.env'],
      ['export', '--project', 'tools', '-F', 'dotenv', '-o', '.env.prod'],
    ];
    for (const args of commands) {
      const r = run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`${RUNS_CODE.length} variables`);
      for (const name of RUNS_CODE) {
        expect(r.stderr, `${args[0]} ${name}`).toContain(
          `${name} (from project/tools/${name.toLowerCase()}:`,
        );
      }
      expect(r.stderr).not.toContain('pwned');
      expect(r.stderr).not.toContain(API_KEY);
    }
    expect(existsSync(join(dir, '.env'))).toBe(false);
    expect(existsSync(join(dir, '.env.prod'))).toBe(false);
  });

  it('PS1 in a .env file runs a command in an interactive bash that sources it: refused unless allowed', async (ctx) => {
    const bash = spawnSync('bash', ['--version'], { encoding: 'utf8' });
    if (bash.status !== 0) {
      console.warn('NOT RUN: PS1 through an interactive bash: bash is not installed here');
      ctx.skip();
    }
    const { h, dir, run } = await tools(['PS1'], () => '$(touch ran-from-ps1)');
    const marker = join(dir, 'ran-from-ps1');
    /** `set -a; . ./FILE; set +a` typed into an interactive bash, as a user loading a .env. */
    const source = (file: string) => {
      const r = spawnSync('bash', ['--norc', '--noprofile', '-i'], {
        cwd: dir,
        input: `set -a; . ./${file}; set +a\necho sourced\n`,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: h.home, HISTFILE: '/dev/null' },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.stdout).toContain('sourced');
    };
    for (const args of [
      ['env', 'pull', '--project', 'tools', '--file', '.env'],
      ['export', '--project', 'tools', '-F', 'dotenv', '-o', '.env'],
    ]) {
      const r = run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('PS1 (from project/tools/ps1:');
      expect(r.stderr).not.toContain('ran-from-ps1');
      expect(existsSync(join(dir, '.env'))).toBe(false);
    }
    // The refusal is what stands between the value and the shell: allowed, the same file
    // makes bash run the command at its next prompt.
    const allowed = run([
      'env',
      'pull',
      '--project',
      'tools',
      '--file',
      '.env',
      '--allow-env-name',
      'PS1',
    ]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(existsSync(marker)).toBe(false);
    source('.env');
    expect(existsSync(marker)).toBe(true);
  });

  it('CC and MAKEFLAGS run commands in make: coffer run -- make is refused unless allowed', async (ctx) => {
    const version = spawnSync('make', ['--version'], { encoding: 'utf8' });
    if (version.status !== 0 || !version.stdout.includes('GNU Make')) {
      console.warn('NOT RUN: CC and MAKEFLAGS through make: GNU make is not installed here');
      ctx.skip();
    }
    const { h, dir } = await tools(['CC', 'MAKEFLAGS'], (n) =>
      n === 'CC' ? 'touch ran-from-cc; true' : '--eval=$(shell touch ran-from-makeflags)',
    );
    writeFileSync(join(dir, 'hello.c'), 'int main(void) { return 0; }\n');
    // SHELL as a login session exports it: GNU make runs $(shell) in MAKEFLAGS' --eval with it.
    const run = (args: string[]) => h.run(args, { cwd: dir, env: { SHELL: '/bin/sh' } });
    const make = ['run', '--no-mask', '--project', 'tools', '--', 'make', 'hello'];
    const refused = run(make);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('CC (from project/tools/cc:');
    expect(refused.stderr).toContain('MAKEFLAGS (from project/tools/makeflags:');
    expect(refused.stderr).not.toContain('ran-from');
    expect(existsSync(join(dir, 'ran-from-cc'))).toBe(false);
    expect(existsSync(join(dir, 'ran-from-makeflags'))).toBe(false);
    // The refusal is what stands between the values and the shell make starts: allowed, make
    // runs both (its built-in rule for hello from hello.c runs $(CC)).
    const allow = ['--allow-env-name', 'CC', '--allow-env-name', 'MAKEFLAGS'];
    const allowed = run([...make.slice(0, 4), ...allow, ...make.slice(4)]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(existsSync(join(dir, 'ran-from-cc'))).toBe(true);
    expect(existsSync(join(dir, 'ran-from-makeflags'))).toBe(true);
  });

  it("CFLAGS runs a program through gcc's -wrapper in make's built-in rule: refused unless allowed", async (ctx) => {
    const version = spawnSync('make', ['--version'], { encoding: 'utf8' });
    const gcc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
    if (version.status !== 0 || !version.stdout.includes('GNU Make') || gcc.status !== 0) {
      console.warn('NOT RUN: CFLAGS through make: GNU make or a C compiler is not installed here');
      ctx.skip();
    }
    if (!/Free Software Foundation|\bgcc\b/i.test(gcc.stdout)) {
      console.warn('NOT RUN: CFLAGS through make: cc is not gcc (-wrapper is a gcc option)');
      ctx.skip();
    }
    // gcc splits -wrapper's argument at commas and runs each step of the compiler as
    // `/bin/sh -c 'touch ran-from-cflags' cc1 ...`: the shell runs the touch, not the step.
    const { h, dir } = await tools(['CFLAGS'], () => '-wrapper /bin/sh,-c,touch\\ ran-from-cflags');
    writeFileSync(join(dir, 'hello.c'), 'int main(void) { return 0; }\n');
    const run = (args: string[]) => h.run(args, { cwd: dir });
    const make = ['run', '--no-mask', '--project', 'tools', '--', 'make', 'hello'];
    const refused = run(make);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('CFLAGS (from project/tools/cflags:');
    expect(refused.stderr).toContain('-wrapper runs a program');
    expect(refused.stderr).not.toContain('ran-from');
    expect(existsSync(join(dir, 'ran-from-cflags'))).toBe(false);
    // Allowed, make's rule for hello from hello.c passes $(CFLAGS) to cc, and gcc runs the
    // wrapper (the build itself then fails: the wrapper ran touch instead of the compiler).
    run([...make.slice(0, 4), '--allow-env-name', 'CFLAGS', ...make.slice(4)]);
    expect(existsSync(join(dir, 'ran-from-cflags'))).toBe(true);
  });

  it("YACC, LDLIBS and RM run commands in make's built-in rules and a clean target: refused unless allowed", async (ctx) => {
    const version = spawnSync('make', ['--version'], { encoding: 'utf8' });
    if (version.status !== 0 || !version.stdout.includes('GNU Make')) {
      console.warn('NOT RUN: YACC, LDLIBS and RM through make: GNU make is not installed here');
      ctx.skip();
    }
    const { h, dir } = await tools(['YACC', 'LDLIBS', 'RM'], (n) =>
      n === 'LDLIBS' ? '; touch ran-from-ldlibs; true' : `touch ran-from-${n.toLowerCase()}; true`,
    );
    // make's rule for parse.c from parse.y runs $(YACC); its rule for hello from hello.o ends
    // its link command with $(LDLIBS), and the shell runs what follows the ;.
    writeFileSync(join(dir, 'parse.y'), '%%\n');
    writeFileSync(join(dir, 'hello.o'), '');
    writeFileSync(join(dir, 'Makefile'), 'clean:\n\t$(RM) hello\n');
    const run = (args: string[]) => h.run(args, { cwd: dir });
    const make = [
      'run',
      '--no-mask',
      '--project',
      'tools',
      '--',
      'make',
      'parse.c',
      'hello',
      'clean',
    ];
    const refused = run(make);
    expect(refused.code, refused.stderr).toBe(2);
    for (const name of ['YACC', 'LDLIBS', 'RM']) {
      expect(refused.stderr).toContain(`${name} (from project/tools/${name.toLowerCase()}:`);
    }
    expect(refused.stderr).not.toContain('ran-from');
    for (const name of ['yacc', 'ldlibs', 'rm']) {
      expect(existsSync(join(dir, `ran-from-${name}`))).toBe(false);
    }
    // The refusal is what stands between the values and the shell make starts: allowed, make
    // runs all three (the link itself fails, hello.o being empty; -k goes on to clean).
    const allow = ['YACC', 'LDLIBS', 'RM'].flatMap((n) => ['--allow-env-name', n]);
    run([...make.slice(0, 4), ...allow, ...make.slice(4, 6), '-k', ...make.slice(6)]);
    for (const name of ['yacc', 'ldlibs', 'rm']) {
      expect(existsSync(join(dir, `ran-from-${name}`)), name).toBe(true);
    }
  });

  it('TAR_OPTIONS makes GNU tar run a command: coffer run -- tar is refused unless allowed', async (ctx) => {
    const version = spawnSync('tar', ['--version'], { encoding: 'utf8' });
    if (version.status !== 0 || !version.stdout.includes('GNU tar')) {
      console.warn('NOT RUN: TAR_OPTIONS through tar: GNU tar is not installed here');
      ctx.skip();
    }
    // tar splits TAR_OPTIONS at spaces (a backslash keeps one): the checkpoint action runs
    // `touch ran-from-tar` through the shell after the first record written.
    const { h, dir } = await tools(
      ['TAR_OPTIONS'],
      () => '--checkpoint=1 --checkpoint-action=exec=touch\\ ran-from-tar',
    );
    writeFileSync(join(dir, 'notes.txt'), 'release notes\n');
    const run = (args: string[]) => h.run(args, { cwd: dir });
    const tar = [
      'run',
      '--no-mask',
      '--project',
      'tools',
      '--',
      'tar',
      '-cf',
      'out.tar',
      'notes.txt',
    ];
    const refused = run(tar);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('TAR_OPTIONS (from project/tools/tar_options:');
    expect(refused.stderr).toContain('--checkpoint-action=exec= runs a command');
    expect(refused.stderr).not.toContain('ran-from');
    expect(existsSync(join(dir, 'out.tar'))).toBe(false);
    expect(existsSync(join(dir, 'ran-from-tar'))).toBe(false);
    // The refusal is what stands between the value and the command: allowed, tar runs it.
    const allowed = run([...tar.slice(0, 4), '--allow-env-name', 'TAR_OPTIONS', ...tar.slice(4)]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(existsSync(join(dir, 'ran-from-tar'))).toBe(true);
  });
});
