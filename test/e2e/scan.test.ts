/**
 * `coffer scan` through the built binary: files, stored values, the baseline, git history and
 * the staged diff; never a secret value in its output.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tokenChecksum } from '../../src/core/scan/checksums.js';
import { hasMkfifo, makeFifo, startFifoWriter } from '../helpers/fifo.js';
import { BIN, makeHome } from './harness.js';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const rand = (n: number) => Array.from(randomBytes(n), (b) => ALNUM[b % 62]).join('');
function githubToken(): string {
  const r = rand(30);
  return `ghp_${r}${tokenChecksum(r)}`;
}

/** A temp home with a project directory that is a git repository. */
function repo() {
  const h = makeHome();
  const dir = join(h.home, 'app');
  mkdirSync(dir);
  const gitEnv = {
    ...h.env,
    GIT_AUTHOR_NAME: 'Dev',
    GIT_AUTHOR_EMAIL: 'dev@example.com',
    GIT_COMMITTER_NAME: 'Dev',
    GIT_COMMITTER_EMAIL: 'dev@example.com',
  };
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: dir, env: gitEnv, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  git('init', '-q', '-b', 'main');
  const write = (file: string, text: string) => {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  };
  const scan = (args: string[]) => h.run(['scan', ...args], { cwd: dir, env: gitEnv });
  return { h, dir, git, write, scan, gitEnv };
}

describe('coffer scan', () => {
  it('reports a planted key with file, line and rule, masked; exit 1, then 0 once clean', () => {
    const r = repo();
    const token = githubToken();
    r.write('src/config.ts', `export const port = 8080;\nconst gh = '${token}';\n`);
    r.write('README.md', 'Set AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE in your shell.\n');
    const out = r.scan(['--no-vault']);
    expect(out.code, out.stderr).toBe(1);
    expect(out.stdout).toBe('src/config.ts:2:13 github-token ghp_****\n');
    expect(out.stderr).toContain('coffer:allow');
    expect(out.stderr).toContain('coffer env pull');
    expect(out.stdout + out.stderr).not.toContain(token.slice(4));
    const json = JSON.parse(r.scan(['--no-vault', '--json']).stdout);
    expect(json.findings).toMatchObject([
      { rule: 'github-token', file: 'src/config.ts', line: 2, validated: true },
    ]);
    const sarif = JSON.parse(r.scan(['--no-vault', '--sarif']).stdout);
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].results[0]).toMatchObject({
      ruleId: 'github-token',
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: 'src/config.ts' },
            region: { startLine: 2 },
          },
        },
      ],
    });
    r.write('src/config.ts', 'export const port = 8080;\nconst gh = process.env.GITHUB_TOKEN;\n');
    expect(r.scan(['--no-vault']).code).toBe(0);
    expect(r.scan(['--staged', 'src']).code).toBe(2);
  });

  it('finds a stored value in any encoding, naming its key path and never the value', () => {
    const r = repo();
    expect(r.h.run(['init']).code).toBe(0);
    const value = `db-${rand(24)}`;
    const set = r.h.run(
      [
        'set',
        'project/shop/db_password',
        '--env',
        'prod',
        '-d',
        'Shop database password for the orders service',
      ],
      { input: value },
    );
    expect(set.code, set.stderr).toBe(0);
    r.write('k8s/secret.yaml', `data:\n  password: ${Buffer.from(value).toString('base64')}\n`);
    const out = r.scan([]);
    expect(out.code, out.stderr).toBe(1);
    expect(out.stdout).toBe(
      'k8s/secret.yaml:2:13 coffer-stored-value project/shop/db_password (prod, base64)\n',
    );
    expect(out.stderr).toContain('coffer incident');
    expect(out.stdout + out.stderr).not.toContain(value);
    // The reads are audited.
    const audit = r.h.run(['audit', '--json']);
    expect(audit.stdout).toContain('project/shop/db_password');
    // Without the vault, only the rules speak: a random value under a password name.
    expect(r.scan(['--no-vault']).stdout).toBe('k8s/secret.yaml:2:13 generic-secret ****\n');
  });

  it('accepts the findings of a baseline and reports only new ones', () => {
    const r = repo();
    r.write('.env', `SESSION_SECRET=${rand(24)}\n`);
    expect(r.scan(['--no-vault']).code).toBe(1);
    const up = r.scan(['--no-vault', '--update-baseline']);
    expect(up.code, up.stderr).toBe(0);
    const baseline = JSON.parse(readFileSync(join(r.dir, '.secrets.baseline'), 'utf8'));
    expect(baseline.results['.env'][0]).toMatchObject({ type: 'Secret Keyword', line_number: 1 });
    const again = r.scan(['--no-vault']);
    expect(again.code, again.stdout).toBe(0);
    expect(again.stderr).toContain('1 more in the baseline');
    r.write('.env', `SESSION_SECRET=${rand(24)}\n`);
    expect(r.scan(['--no-vault']).code).toBe(1);
    expect(r.scan(['--no-vault', '--baseline', 'missing.json']).code).toBe(3);
    // A baseline nested too deeply to be written back: a usage error naming it, not INTERNAL.
    r.write('.secrets.baseline', `{"results":{},"x":${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
    const deep = r.scan(['--no-vault', '--update-baseline']);
    expect(deep.code, deep.stderr).toBe(2);
    expect(deep.stderr).toContain('.secrets.baseline is not a detect-secrets baseline');
    expect(deep.stderr).toContain('nested more than 64 levels deep');
    expect(deep.stderr).not.toContain('internal error');
  });

  // As root every file is readable: that case runs the scan as nobody (setpriv), which needs
  // the built binary to be readable by nobody where this checkout is.
  const isRoot = process.getuid?.() === 0;
  const nobodyReads =
    !isRoot ||
    spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', BIN])
      .status === 0;
  it.skipIf(nobodyReads)(
    'a file it cannot read: NOT RUN, running as root and user nobody cannot read this checkout',
    () => {},
  );

  it.skipIf(!nobodyReads)(
    'a file it cannot read is named and fails the scan, never counted as clean',
    () => {
      const r = repo();
      r.write('leak.txt', `GITHUB = "${githubToken()}"\n`);
      r.write('ok.txt', 'nothing here\n');
      chmodSync(join(r.dir, 'leak.txt'), 0o000);
      const asRoot = isRoot;
      if (asRoot) for (const d of [r.h.home, r.dir]) chmodSync(d, 0o755);
      const run = (args: string[]) =>
        asRoot
          ? spawnSync(
              'setpriv',
              [
                '--reuid=65534',
                '--regid=65534',
                '--clear-groups',
                process.execPath,
                BIN,
                'scan',
                ...args,
              ],
              { cwd: r.dir, env: { ...r.gitEnv, HOME: '/tmp' }, encoding: 'utf8' },
            )
          : spawnSync(process.execPath, [BIN, 'scan', ...args], {
              cwd: r.dir,
              env: r.gitEnv,
              encoding: 'utf8',
            });
      const out = run(['--no-vault', '--all-files', 'leak.txt', 'ok.txt']);
      expect(out.status, out.stderr).toBe(1);
      expect(out.stderr).toContain('cannot read leak.txt (EACCES): not scanned');
      const json = JSON.parse(
        run(['--no-vault', '--all-files', '--json', 'leak.txt', 'ok.txt']).stdout,
      );
      expect(json.unreadable).toEqual([{ file: 'leak.txt', reason: 'EACCES' }]);
      expect(json.files).toBe(1);
    },
  );

  it('finds a key in a UTF-16LE .env with its byte order mark, and lists a binary file as not scanned (BINARY), not as clean', () => {
    const r = repo();
    const token = githubToken();
    // What Windows PowerShell 5 writes with `echo ... > .env`: UTF-16LE after FF FE.
    const utf16 = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`GITHUB_TOKEN=${token}\r\n`, 'utf16le'),
    ]);
    writeFileSync(join(r.dir, '.env'), utf16);
    // A keystore-like file: a NUL byte in its first bytes, a key further on.
    writeFileSync(
      join(r.dir, 'deploy.keystore'),
      Buffer.concat([Buffer.from([0, 1, 2, 0]), Buffer.from(`\n${githubToken()}\n`)]),
    );
    r.write('ok.txt', 'nothing here\n');
    const out = r.scan(['--no-vault']);
    expect(out.code, out.stderr).toBe(1);
    expect(out.stdout).toBe('.env:1:14 github-token ghp_****\n');
    expect(out.stderr).toContain('1 finding in 2 files; 1 not scanned');
    expect(out.stderr).toContain(
      'deploy.keystore (BINARY): not scanned, binary content (a NUL byte in its first 8000 bytes)',
    );
    const json = JSON.parse(r.scan(['--no-vault', '--json']).stdout);
    expect(json.findings).toMatchObject([{ rule: 'github-token', file: '.env', line: 1 }]);
    expect(json.files).toBe(2);
    expect(json.unreadable).toEqual([{ file: 'deploy.keystore', reason: 'BINARY' }]);
    const sarif = JSON.parse(r.scan(['--no-vault', '--sarif']).stdout);
    expect(sarif.runs[0].invocations[0].toolExecutionNotifications).toMatchObject([
      {
        level: 'warning',
        descriptor: { id: 'BINARY' },
        locations: [{ physicalLocation: { artifactLocation: { uri: 'deploy.keystore' } } }],
      },
    ]);
    expect(out.stdout + out.stderr + JSON.stringify(json) + JSON.stringify(sarif)).not.toContain(
      token.slice(4),
    );
    // A binary file alone is listed but does not fail the scan.
    rmSync(join(r.dir, '.env'));
    const clean = r.scan(['--no-vault']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stderr).toContain('0 findings in 1 file; 1 not scanned');
    expect(clean.stderr).toContain('deploy.keystore (BINARY): not scanned');
  });

  it('--staged and --history list a binary file git shows no lines of (BINARY), once, without failing for it', () => {
    const r = repo();
    writeFileSync(join(r.dir, 'store.keystore'), Buffer.from([0, 1, 2, 0, 10]));
    writeFileSync(join(r.dir, 'logo.png'), Buffer.from([0, 1, 2, 0, 10]));
    r.write('ok.txt', 'nothing here\n');
    r.git('add', '.');
    const staged = r.scan(['--no-vault', '--staged']);
    expect(staged.code, staged.stderr).toBe(0);
    expect(staged.stderr).toContain('0 findings in 1 file; 1 not scanned');
    expect(staged.stderr).toContain('store.keystore (BINARY): not scanned');
    expect(staged.stderr).not.toContain('logo.png'); // skipped by its name, as in a file scan
    r.git('commit', '-q', '-m', 'one');
    writeFileSync(join(r.dir, 'store.keystore'), Buffer.from([0, 3, 4, 0, 10]));
    r.git('commit', '-q', '-am', 'two');
    const json = JSON.parse(r.scan(['--no-vault', '--history', '--json']).stdout);
    expect(json.unreadable).toEqual([{ file: 'store.keystore', reason: 'BINARY' }]);
    expect(json.files).toBe(1);
    const excluded = r.scan(['--no-vault', '--history', '--json', '--exclude', '*.keystore']);
    expect(JSON.parse(excluded.stdout).unreadable).toEqual([]);
  });

  it('a tracked link to a directory is not a file to read: skipped, the scan stays clean', () => {
    const r = repo();
    r.write('real/notes.txt', 'nothing here\n');
    symlinkSync('real', join(r.dir, 'linkdir'));
    r.git('add', '.');
    const out = r.scan(['--no-vault']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).not.toContain('cannot read');
  });

  it('--exclude: a glob without / at any depth, /dir and ./dir from the top, a directory with what it holds', () => {
    const r = repo();
    const token = githubToken();
    r.write('build/out.js', `const gh = '${token}';\n`);
    r.write('src/build/gen.js', `const gh = '${token}';\n`);
    const files = (args: string[]) =>
      (JSON.parse(r.scan(['--no-vault', '--json', ...args]).stdout).findings as { file: string }[])
        .map((f) => f.file)
        .sort();
    expect(files([])).toEqual(['build/out.js', 'src/build/gen.js']);
    expect(files(['--exclude', 'build'])).toEqual([]);
    expect(files(['--exclude', '/build'])).toEqual(['src/build/gen.js']);
    expect(files(['--exclude', './build/'])).toEqual(['src/build/gen.js']);
    expect(files(['--exclude', 'src/**/*.js'])).toEqual(['build/out.js']);
  });

  it('skips only the baseline in use: a key in another file of that name is found', () => {
    const r = repo();
    const token = githubToken();
    r.write('config/.secrets.baseline', `GITHUB = "${token}"\n`);
    r.git('add', '.');
    for (const args of [[], ['--staged']]) {
      const out = r.scan(['--no-vault', ...args]);
      expect(out.code, `${args}: ${out.stdout}${out.stderr}`).toBe(1);
      expect(out.stdout).toContain('config/.secrets.baseline:1:');
    }
    // Named as the baseline in use, it is skipped (and must then be a baseline).
    const named = r.scan(['--no-vault', '--baseline', 'config/.secrets.baseline']);
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(/not a detect-secrets baseline/);
    // A directory given as the baseline is a clear error.
    const dir = r.scan(['--no-vault', '--baseline', 'config']);
    expect(dir.code).toBe(2);
    expect(dir.stderr).toMatch(/config is not a file/);
    expect(dir.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it('finds a key committed and removed two commits later with --history, naming the commit', () => {
    const r = repo();
    const token = githubToken();
    r.write('app.py', 'print("hello")\n');
    r.git('add', '.');
    r.git('commit', '-q', '-m', 'start');
    r.write('app.py', `print("hello")\nGITHUB = "${token}"\n`);
    r.git('add', '.');
    r.git('commit', '-q', '-m', 'add client');
    const leaked = r.git('rev-parse', 'HEAD');
    r.write('README.md', '# app\n');
    r.git('add', '.');
    r.git('commit', '-q', '-m', 'docs');
    r.write('app.py', 'import os\nprint("hello")\nGITHUB = os.environ["GITHUB_TOKEN"]\n');
    r.git('commit', '-q', '-am', 'use the environment');
    expect(r.scan(['--no-vault']).code).toBe(0);
    const out = r.scan(['--no-vault', '--history']);
    expect(out.code, out.stderr).toBe(1);
    expect(out.stdout).toBe(`${leaked.slice(0, 12)} app.py:2:11 github-token ghp_****\n`);
    const json = JSON.parse(r.scan(['--no-vault', '--history', '--json']).stdout);
    expect(json.findings).toMatchObject([{ commit: leaked, file: 'app.py', line: 2 }]);
    expect(r.scan(['--no-vault', '--history', `${leaked}..HEAD`]).code).toBe(0);
    expect(r.scan(['--no-vault', '--history', 'no-such-ref']).code).toBe(2);
  });

  it('--staged reports a staged key and passes once it is a coffer:// reference', () => {
    const r = repo();
    r.write('.env.production', `STRIPE_SECRET_KEY=sk_live_${rand(30)}\n`);
    r.git('add', '.');
    const out = r.scan(['--no-vault', '--staged']);
    expect(out.code, out.stderr).toBe(1);
    expect(out.stdout).toMatch(/^\.env\.production:1:19 stripe-secret-key sk_live_\*\*\*\*\n$/);
    r.write('.env.production', 'STRIPE_SECRET_KEY=coffer://project/shop/stripe_secret_key\n');
    r.git('add', '.');
    expect(r.scan(['--no-vault', '--staged']).code).toBe(0);
    rmSync(join(r.dir, '.env.production'));
  });

  it("--staged outside a git repository says so, with a hint, exit 2 (not git's own error)", () => {
    const h = makeHome();
    const dir = join(h.home, 'nogit');
    mkdirSync(dir);
    const r = h.run(['scan', '--no-vault', '--staged'], {
      cwd: dir,
      env: { GIT_CEILING_DIRECTORIES: h.home },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^coffer: error: not inside a git repository\ncoffer: hint: .*coffer scan PATH/,
    );
    expect(r.stderr).not.toContain('cached');
    const json = h.run(['scan', '--no-vault', '--staged', '--json'], {
      cwd: dir,
      env: { GIT_CEILING_DIRECTORIES: h.home },
    });
    expect(JSON.parse(json.stderr).error).toMatchObject({
      code: 'USAGE',
      message: 'not inside a git repository',
    });
  });

  it('a path named that does not exist is an error, and a file named is scanned though git ignores it', () => {
    const r = repo();
    r.write('.gitignore', 'ignored.js\n');
    const token = githubToken();
    r.write('ignored.js', `const gh = '${token}';\n`);
    const missing = r.scan(['--no-vault', 'nofile']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('nofile does not exist');
    const named = r.scan(['--no-vault', 'ignored.js']);
    expect(named.code).toBe(1);
    expect(named.stdout).toContain('ignored.js:1:');
    // The directory walk still leaves it out, as git does.
    expect(r.scan(['--no-vault']).code).toBe(0);
    const device = r.scan(['--no-vault', '/dev/null']);
    expect(device.code).toBe(2);
    expect(device.stderr).toContain('is not a regular file');
  });

  it('reports a staged coffer master key file (what coffer init wrote), in the diff and in history', () => {
    const r = repo();
    const home = join(r.dir, '.coffer');
    expect(r.h.run(['init'], { env: { COFFER_HOME: home } }).code).toBe(0);
    r.git('add', '-f', '.coffer/master.key');
    const out = r.scan(['--no-vault', '--staged']);
    expect(out.code, out.stderr).toBe(1);
    expect(out.stdout).toBe('.coffer/master.key:1:1 coffer-master-key ****\n');
    const key = readFileSync(join(home, 'master.key'), 'utf8').trim();
    expect(out.stdout + out.stderr).not.toContain(key);
    r.git('commit', '-q', '-m', 'oops');
    const history = JSON.parse(r.scan(['--no-vault', '--history', '--json']).stdout);
    expect(history.findings).toMatchObject([{ rule: 'coffer-master-key', line: 1 }]);
  });

  it('the pre-commit hook blocks a staged key, passes a coffer:// reference, and chains an existing hook', () => {
    const r = repo();
    r.git('config', 'core.hooksPath', '.githooks');
    mkdirSync(join(r.dir, '.githooks'));
    // An existing hook: it records that it ran, and fails when told to.
    writeFileSync(
      join(r.dir, '.githooks', 'pre-commit'),
      '#!/bin/sh\necho ran >> "$(git rev-parse --show-toplevel)/.hook-ran"\n[ ! -e "$(git rev-parse --show-toplevel)/.fail" ]\n',
      { mode: 0o755 },
    );
    const install = r.h.run(['hook', 'install', '--json'], { cwd: r.dir, env: r.gitEnv });
    expect(install.code, install.stderr).toBe(0);
    expect(JSON.parse(install.stdout)).toMatchObject({
      hook: join(r.dir, '.githooks', 'pre-commit'),
      chained: join(r.dir, '.githooks', 'pre-commit.coffer-chained'),
      changed: true,
    });
    const commit = () =>
      spawnSync('git', ['commit', '-q', '-m', 'config'], {
        cwd: r.dir,
        env: r.gitEnv,
        encoding: 'utf8',
      });
    const token = githubToken();
    r.write('config/ci.yml', `github_token: ${token}\n`);
    r.git('add', 'config');
    const blocked = commit();
    expect(blocked.status, blocked.stderr).toBe(1);
    // git shows a hook's output on its stderr.
    expect(blocked.stderr).toContain('config/ci.yml:1:15 github-token ghp_****');
    expect(blocked.stderr).toContain('coffer:allow');
    expect(blocked.stderr).toContain('coffer set project/APP/NAME');
    expect(blocked.stdout + blocked.stderr).not.toContain(token.slice(4));
    expect(readFileSync(join(r.dir, '.hook-ran'), 'utf8')).toBe('ran\n');
    r.write('config/ci.yml', 'github_token: coffer://project/app/github_token\n');
    r.git('add', 'config');
    const passed = commit();
    expect(passed.status, passed.stdout + passed.stderr).toBe(0);
    // The chained hook still decides: when it fails, the commit stops before the scan.
    writeFileSync(join(r.dir, '.fail'), '');
    r.write('config/other.yml', 'port: 8080\n');
    r.git('add', 'config');
    expect(commit().status).toBe(1);
    const un = r.h.run(['hook', 'uninstall'], { cwd: r.dir, env: r.gitEnv });
    expect(un.code, un.stderr).toBe(0);
    expect(readFileSync(join(r.dir, '.githooks', 'pre-commit'), 'utf8')).toContain('.hook-ran');
  });
});

describe('coffer hook with a hook past 1 MiB', () => {
  it("install chains it unread, doctor sees coffer's hook, uninstall puts it back", () => {
    const r = repo();
    const hooks = join(r.dir, '.git', 'hooks');
    mkdirSync(hooks, { recursive: true });
    const hook = join(hooks, 'pre-commit');
    writeFileSync(hook, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    truncateSync(hook, 3 * 1024 * 1024 * 1024); // sparse: nothing is really written
    const install = r.h.run(['hook', 'install', '--json'], { cwd: r.dir, env: r.gitEnv });
    expect(install.code, install.stderr).toBe(0);
    expect(JSON.parse(install.stdout)).toMatchObject({
      hook,
      chained: join(hooks, 'pre-commit.coffer-chained'),
      changed: true,
    });
    const doctor = r.h.run(['doctor', '--json'], { cwd: r.dir, env: r.gitEnv });
    expect(doctor.stderr).not.toMatch(/internal error|\n\s+at /);
    const checks: { id: string; status: string }[] = JSON.parse(doctor.stdout).checks;
    expect(checks.find((c) => c.id === 'lifecycle/pre-commit-hook')?.status).toBe('pass');
    const un = r.h.run(['hook', 'uninstall'], { cwd: r.dir, env: r.gitEnv });
    expect(un.code, un.stderr).toBe(0);
    expect(statSync(hook).size).toBe(3 * 1024 * 1024 * 1024);
  });
});

describe('coffer scan --agents', () => {
  it("finds stored values and provider keys in agents' transcripts and MCP configuration under HOME", () => {
    const r = repo();
    expect(r.h.run(['init']).code).toBe(0);
    const value = `pw"${rand(20)}`;
    const set = r.h.run(
      ['set', 'project/shop/db_password', '-d', 'Shop database password for the orders service'],
      { input: value },
    );
    expect(set.code, set.stderr).toBe(0);
    const token = githubToken();
    const home = r.h.home;
    const put = (file: string, text: string) => {
      mkdirSync(join(home, file, '..'), { recursive: true });
      writeFileSync(join(home, file), text);
    };
    const said = JSON.stringify({ type: 'user', message: `the password is ${value}` });
    const generic = JSON.stringify({ type: 'assistant', message: `password = "${rand(24)}"` });
    put('.claude/projects/-app/s1.jsonl', `{"type":"summary"}\n${generic}\n${said}\n`);
    put(
      '.codex/sessions/2026/12/01/rollout-1.jsonl',
      `${JSON.stringify({ payload: { output: `GH=${token}` } })}\n`,
    );
    const mcpKey = rand(32);
    put(
      '.cursor/mcp.json',
      `{\n  "mcpServers": {\n    "api": { "command": "npx", "env": { "API_KEY": "${mcpKey}" } }\n  }\n}\n`,
    );
    r.write(
      '.vscode/mcp.json',
      '{ "servers": { "docs": { "url": "https://example.com/mcp" } } }\n',
    );
    r.write('src/app.ts', `const gh = '${githubToken()}';\n`); // not an agent file

    const out = r.scan(['--agents']);
    expect(out.code, out.stderr).toBe(1);
    expect(out.stdout.split('\n').filter(Boolean)).toEqual([
      '~/.cursor/mcp.json:3:53 generic-secret ****',
      '~/.claude/projects/-app/s1.jsonl:3:43 coffer-stored-value project/shop/db_password (dev, json)',
      '~/.codex/sessions/2026/12/01/rollout-1.jsonl:1:26 github-token ghp_****',
    ]);
    expect(out.stderr).toContain('coffer incident project/shop/db_password');
    expect(out.stderr).toContain('in 4 files');
    expect(out.stdout + out.stderr).not.toContain(value);
    expect(out.stdout + out.stderr).not.toContain(mcpKey);
    const json = JSON.parse(r.scan(['--agents', '--json']).stdout);
    expect(json.findings[1]).toMatchObject({
      rule: 'coffer-stored-value',
      keyPath: 'project/shop/db_password',
      suggestion: 'coffer incident project/shop/db_password',
    });
    // Without the vault: provider keys and the configuration's keyword match only.
    expect(r.scan(['--agents', '--no-vault']).stdout.split('\n').filter(Boolean)).toHaveLength(2);
    expect(r.scan(['--agents', 'src']).code).toBe(2);
    // Another HOME has no agent files.
    const empty = r.h.run(['scan', '--agents', '--no-vault'], {
      cwd: r.dir,
      env: { HOME: join(r.h.home, 'app', 'src') },
    });
    expect(empty.code, empty.stderr).toBe(0);
  });

  it.skipIf(!hasMkfifo)(
    'lists an agent file that is no regular file (a FIFO, a device, a dangling link) as not scanned, and reads a link to a file',
    async () => {
      const r = repo();
      const home = r.h.home;
      mkdirSync(join(home, '.claude', 'projects', '-app'), { recursive: true });
      mkdirSync(join(home, '.cursor'));
      // The writer holds the FIFO open: a reader would get a token's line, never wait.
      const writer = await startFifoWriter(
        makeFifo(home, '.claude.json'),
        `{"env": {"GH": "${githubToken()}"}}\n`,
      );
      try {
        symlinkSync(join(home, 'gone.json'), join(home, '.cursor', 'mcp.json'));
        symlinkSync('/dev/null', join(home, '.claude', 'projects', '-app', 'dev.jsonl'));
        const token = githubToken();
        writeFileSync(join(home, 'kept.jsonl'), `{"out": "${token}"}\n`);
        symlinkSync(join(home, 'kept.jsonl'), join(home, '.claude', 'projects', '-app', 's.jsonl'));
        const out = r.scan(['--agents', '--no-vault']);
        expect(out.code, out.stderr).toBe(1);
        expect(out.stdout).toBe('~/.claude/projects/-app/s.jsonl:1:10 github-token ghp_****\n');
        expect(out.stderr).toContain('1 finding in 1 file; 3 not scanned');
        expect(out.stderr).toContain('cannot read ~/.claude.json (FIFO): not scanned');
        expect(out.stderr).toContain('cannot read ~/.cursor/mcp.json (DANGLING_LINK): not scanned');
        expect(out.stderr).toContain(
          'cannot read ~/.claude/projects/-app/dev.jsonl (DEVICE): not scanned',
        );
        const json = JSON.parse(r.scan(['--agents', '--no-vault', '--json']).stdout);
        expect(json.unreadable).toEqual([
          { file: '~/.claude.json', reason: 'FIFO' },
          { file: '~/.cursor/mcp.json', reason: 'DANGLING_LINK' },
          { file: '~/.claude/projects/-app/dev.jsonl', reason: 'DEVICE' },
        ]);
        expect(json.files).toBe(1);
      } finally {
        writer.stop();
      }
    },
  );
});
