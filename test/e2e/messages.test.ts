/**
 * Messages that say what to do, through the built binary: each mistake a new user makes
 * gets an error (or a note) that names the fix, and never a secret value.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeHome, STRIPE_DESCRIPTION } from './harness.js';
import { startMcp, TOOLS } from './mcp-harness.js';

const VALUE = 'sk_live_Qx81value';

function vault() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const set = h.run(['set', 'project/consilio/stripe_api_key', '-d', STRIPE_DESCRIPTION], {
    input: VALUE,
  });
  expect(set.code, set.stderr).toBe(0);
  return h;
}

describe('two secrets on one variable', () => {
  it('run, env pull and export refuse naming both; redact still masks both', () => {
    const h = vault();
    for (const [path, value] of [
      ['project/col/api-key', 'dash-value-Qz1'],
      ['project/col/api_key', 'under-value-Qz2'],
    ] as const)
      expect(h.run(['set', path, '-d', STRIPE_DESCRIPTION], { input: value }).code).toBe(0);
    for (const args of [
      ['run', '--project', 'col', '--no-mask', '--', 'node', '-e', '0'],
      ['env', 'pull', '--project', 'col', '--file', '-'],
      ['export', '--project', 'col', '--format', 'json', '--out', '-'],
    ]) {
      const r = h.run(args, { cwd: h.home });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(5);
      expect(r.stderr).toContain('API_KEY: project/col/api-key and project/col/api_key');
      expect(r.stdout + r.stderr).not.toMatch(/value-Qz/);
    }
    // Masking needs no variable names: both values are still hidden.
    const masked = h.run(['redact', '--project', 'col'], {
      input: 'a dash-value-Qz1 b under-value-Qz2\n',
    });
    expect(masked.code, masked.stderr).toBe(0);
    expect(masked.stdout).not.toMatch(/value-Qz/);
    // A mistyped project or environment is not "nothing to mask": every value would pass.
    for (const args of [
      ['redact', '--project', 'coll'],
      ['redact', '--project', 'col', '--env', 'prd'],
    ]) {
      const typo = h.run(args, { input: 'a dash-value-Qz1 b\n' });
      expect(typo.code, args.join(' ')).toBe(3);
      expect(typo.stdout).toBe('');
      expect(typo.stderr).toMatch(/did you mean|has no secrets in/);
    }
  });
});

describe('file-system errors', () => {
  it('name the file and what is wrong, never "internal error"', () => {
    const h = vault();
    symlinkSync('loop1', join(h.home, 'loop2'));
    symlinkSync('loop2', join(h.home, 'loop1'));
    writeFileSync(join(h.home, 'plain'), 'x\n');
    for (const [file, said, code] of [
      ['loop1/sub.env', 'too many symbolic links', 1],
      // A link as the file itself is refused whatever it leads to (files.ts).
      ['loop1', 'loop1 is a symbolic link', 2],
      ['plain/sub.env', 'a part of the path is not a directory', 1],
    ] as const) {
      const r = h.run(['env', 'pull', '--project', 'consilio', '--file', file], { cwd: h.home });
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr).toContain(said);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(r.stderr).not.toContain(VALUE);
    }
    // A file that is not there is exit 3 and said so, for every command that reads one.
    for (const args of [
      ['env', 'format', 'missing.json', '--json'],
      ['env', 'parse', 'missing.env'],
      ['env', 'import', 'missing.env', '--project', 'consilio'],
      ['audit', 'verify', '--checkpoint', 'missing.txt'],
      ['inject', '-i', 'missing.tpl', '-o', '-'],
    ]) {
      const r = h.run(args, { cwd: h.home });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(/missing\.\w+ does not exist/);
    }
    // A directory where a template is expected: said so, not an internal error.
    const dir = h.run(['inject', '-i', h.home, '-o', '-'], { cwd: h.home });
    expect(dir.code).toBe(2);
    expect(dir.stderr).toContain('is not a file');
    expect(dir.stderr).not.toMatch(/internal error|\n\s+at /);
  });
});

describe('coffer serve: the TLS files', () => {
  it('a --tls-cert or --tls-key past 1 MiB (or /dev/zero) is refused naming it and the limit', () => {
    const h = vault();
    const huge = join(h.home, 'key.pem');
    writeFileSync(huge, '-----BEGIN PRIVATE KEY-----\n');
    truncateSync(huge, 1024 * 1024 + 1); // sparse: nothing is really written
    const cert = join(h.home, 'cert.pem');
    writeFileSync(cert, '-----BEGIN CERTIFICATE-----\n');
    for (const [tlsCert, tlsKey, said] of [
      [cert, huge, `${huge} is larger than 1 MiB, the limit for a TLS key`],
      ['/dev/zero', huge, '/dev/zero is larger than 1 MiB, the limit for a TLS certificate'],
    ] as const) {
      const r = h.run(
        ['serve', '--host', '127.0.0.1', '--port', '0', '--tls-cert', tlsCert, '--tls-key', tlsKey],
        { cwd: h.home },
      );
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`coffer: error: ${said}`);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(r.stdout).toBe('');
    }
  });
});

describe('--json with output on stdout', () => {
  it('is refused before anything is read or written, so stdout is never a mix', () => {
    const h = vault();
    writeFileSync(join(h.home, 't.tpl'), 'X={{ coffer://project/consilio/stripe_api_key }}\n');
    for (const [args, option] of [
      [['inject', '-i', join(h.home, 't.tpl'), '-o', '-', '--json'], '--out'],
      [['env', 'pull', '--project', 'consilio', '--file', '-', '--json'], '--file'],
      [['export', '--project', 'consilio', '--format', 'json', '--out', '-', '--json'], '--out'],
      [['doctor', '--sarif', '-', '--json'], '--sarif'],
    ] as const) {
      const r = h.run([...args], { cwd: h.home });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`--json cannot be used with ${option} -`);
      expect(r.stderr).not.toContain(VALUE);
    }
  });
});

describe('generate --json without a target', () => {
  it('is refused: the output would be the bare value, not the report --json promises', () => {
    const h = vault();
    const r = h.run(['generate', 'SIGNING_KEY', '--json'], { cwd: h.home });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--json needs --store or --dotenv');
    const plain = h.run(['generate', 'SIGNING_KEY'], { cwd: h.home });
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim().length).toBeGreaterThanOrEqual(43);
  });
});

describe('--json with a usage error', () => {
  it('is the JSON error shape of every other error, exit 2', () => {
    const h = makeHome();
    const cases: [string[], RegExp][] = [
      [['get', '--json'], /^missing required argument 'path'$/],
      [['get', 'project/a/b', '--bogus', '--json'], /^unknown option '--bogus'$/],
      [['get', 'project/a/b', '--version', 'abc', '--json'], /--version must be a whole number/],
      [['gett', '--json'], /^unknown command 'gett'$/],
    ];
    for (const [args, message] of cases) {
      const r = h.run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      const { error } = JSON.parse(r.stderr);
      expect(error.code).toBe('USAGE');
      expect(error.message).toMatch(message);
    }
    // A suggestion becomes the hint.
    expect(JSON.parse(h.run(['gett', '--json']).stderr).error.hint).toBe('Did you mean get?');
    // Without --json (or with it only after --, for the program) it stays text.
    expect(h.run(['get']).stderr).toMatch(/^coffer: error: missing required argument 'path'/);
    expect(h.run(['run', '--bogus', '--', 'x', '--json']).stderr).toMatch(/^coffer: error: /);
  });
});

describe('coffer run without --', () => {
  it('says to put -- before the program when options follow it', () => {
    const h = vault();
    for (const args of [
      ['run', '--project', 'consilio', 'node', '-e', 'console.log(process.env.STRIPE_API_KEY)'],
      ['run', '--project', 'consilio', 'ls', '-la'],
    ]) {
      const r = h.run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`put -- before the program: coffer run [options] -- ${args[3]}`);
      expect(r.stderr).not.toContain('invalid environment');
      expect(r.stderr).not.toContain('console');
      expect(r.stderr).not.toContain(VALUE);
    }
    // With -- the same program runs.
    const ok = h.run(['run', '--project', 'consilio', '--', 'node', '-e', 'console.log("ran")']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('ran\n');
    // A program without options needs no --.
    expect(h.run(['run', '--project', 'consilio', 'node', 'missing.js']).stderr).not.toContain(
      'put --',
    );
  });
});

describe('a project file without its project line', () => {
  it('names the file and the line it needs', () => {
    const h = vault();
    const dir = join(h.home, 'app');
    mkdirSync(dir);
    // No project file: the COFFER_HOME directory ~/.coffer above it is not one.
    const none = h.run(['run', '--', 'node', '-e', '0'], { cwd: dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no .coffer or coffer.yaml file found');
    const file = join(dir, '.coffer');
    writeFileSync(file, 'env=dev\n');
    const r = h.run(['run', '--', 'node', '-e', '0'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file} has no project= line`);
    expect(r.stderr).toContain(`Add the line project=NAME to ${file}`);
    expect(r.stderr).not.toContain('no .coffer or coffer.yaml file found');
    writeFileSync(file, 'PROJECT=consilio\n');
    const upper = h.run(['env', 'pull'], { cwd: dir });
    expect(upper.code).toBe(2);
    expect(upper.stderr).toContain('The key is lowercase: PROJECT is not read');
    writeFileSync(file, 'project=consilio\n');
    const ok = h.run(
      ['run', '--', 'node', '-e', 'process.exit(process.env.STRIPE_API_KEY ? 0 : 7)'],
      {
        cwd: dir,
      },
    );
    expect(ok.code, ok.stderr).toBe(0);
  });
});

describe('an interrupted init', () => {
  it('left an empty store behind: init goes on into it, as every other command says to', async () => {
    const h = makeHome();
    const file = join(h.env.COFFER_HOME!, 'vault.db');
    mkdirSync(h.env.COFFER_HOME!, { recursive: true });
    // What init leaves when it is stopped during the key derivation: the store, no vault.
    const { openSqliteStorage } = await import('../../src/storage/sqlite/sqlite-storage.js');
    await (await openSqliteStorage(file, { create: true })).close();
    const list = h.run(['list']);
    expect(list.code).toBe(3);
    expect(list.stderr).toContain('coffer init');
    const init = h.run(['init']);
    expect(init.code, init.stderr).toBe(0);
    expect(h.run(['list']).code).toBe(0);
    // A real vault is never initialised over.
    expect(h.run(['init']).code).toBe(5);
    // Nor another program's database: refused, and nothing of coffer's added to it.
    const { default: Database } = await import('better-sqlite3');
    const app = join(h.home, 'app.db');
    const db = new Database(app);
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)');
    db.close();
    const other = h.run(['--vault', app, 'init']);
    expect(other.code).toBe(5);
    expect(other.stderr).toContain('is not a coffer vault');
    const after = new Database(app, { readonly: true });
    const tables = after.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    after.close();
    expect(tables).toEqual([{ name: 'users' }]);
    // Not even its bytes: a WAL database whose -wal holds data, and one whose only table
    // has one of coffer's names (meta) with a row of its own.
    const digest = (f: string) =>
      existsSync(f) ? createHash('sha256').update(readFileSync(f)).digest('hex') : 'none';
    const wal = join(h.home, 'wal.db');
    const w = new Database(wal);
    w.pragma('journal_mode = WAL');
    w.pragma('wal_autocheckpoint = 0');
    w.exec('CREATE TABLE events (id INTEGER); INSERT INTO events VALUES (1)');
    const named = join(h.home, 'named.db');
    const n = new Database(named);
    n.exec("CREATE TABLE meta (key TEXT, value TEXT); INSERT INTO meta VALUES ('theme', 'dark')");
    n.close();
    for (const file of [wal, named]) {
      const before = [digest(file), digest(`${file}-wal`)];
      const r = h.run(['--vault', file, 'init']);
      expect(r.code).toBe(5);
      expect(r.stderr).toContain('is not a coffer vault');
      expect([digest(file), digest(`${file}-wal`)]).toEqual(before);
    }
    w.close();
  });

  it('inside a git work tree, init says the key file and the vault are not ignored', () => {
    const h = makeHome();
    const repo = join(h.home, 'repo');
    mkdirSync(repo);
    expect(spawnSync('git', ['init', '-q'], { cwd: repo }).status).toBe(0);
    const init = h.run(['init'], { cwd: repo, env: { COFFER_HOME: join(repo, '.coffer') } });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stderr).toMatch(/master\.key is not ignored by git/);
    expect(init.stderr).toMatch(/vault\.db is not ignored by git/);
  });
});

describe('a missing key file', () => {
  it('says where the key must come from, and init does not send the user in a circle', () => {
    const h = vault();
    const keyFile = join(h.home, '.coffer', 'master.key');
    renameSync(keyFile, join(h.home, 'backup.key'));
    const get = h.run(['get', 'project/consilio/stripe_api_key']);
    expect(get.code).not.toBe(0);
    expect(get.stderr).toContain(`its key file ${keyFile} does not`);
    expect(get.stderr).toContain('Restore the key file from your backup');
    expect(get.stderr).toContain('COFFER_MASTER_KEY');
    expect(get.stderr).toContain('`coffer init` cannot help');
    expect(get.stderr).not.toContain('run `coffer init`');
    const init = h.run(['init']);
    expect(init.code).toBe(5);
    expect(init.stderr).toContain(`Its key file ${keyFile} is missing`);
    expect(init.stderr).toContain('restore the key file from your backup');
    // The key from the backup opens the vault again.
    const key = join(h.home, 'backup.key');
    const back = h.run(['--key-file', key, 'get', 'project/consilio/stripe_api_key']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toBe(`${VALUE}\n`);
  });
});

describe('generate with a size below the floor', () => {
  it('names the CLI flag, --allow-weak, not library options; --force alone does not weaken', () => {
    const h = makeHome();
    const r = h.run(['generate', 'SHORT_KEY', '--bytes', '8']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Use --bytes 10 or more, or pass --allow-weak');
    expect(r.stderr).not.toMatch(/allowWeak|:weak/);
    const p = h.run(['generate', 'SHORT_PASSWORD', '--kind', 'password', '--length', '8']);
    expect(p.stderr).toContain('Use --length 16 or more, or pass --allow-weak');
    // --force replaces a value; a rotation script that always passes it keeps the floor.
    const forced = h.run(['generate', 'SHORT_KEY', '--bytes', '8', '--force']);
    expect(forced.code).toBe(2);
    const weak = h.run(['generate', 'SHORT_KEY', '--bytes', '8', '--allow-weak']);
    expect(weak.code, weak.stderr).toBe(0);
    expect(weak.stderr).toMatch(/weak|shorter/i);
  });
});

describe('coffer mcp', () => {
  it('points the agent at tools, not at CLI commands', async () => {
    const h = vault();
    const mcp = await startMcp({ env: h.env, cwd: h.home, protocol: '2025-11-25' });
    try {
      const r = await mcp.call('get_secret', { keyPath: 'project/consilio/stripe_apikey' });
      expect(r.isError).toBe(true);
      const error = (r.structuredContent as { error: { code: string; hint: string } }).error;
      expect(error.code).toBe('SECRET_NOT_FOUND');
      expect(error.hint).toContain('list_secrets');
      expect(error.hint).not.toContain('coffer list');
    } finally {
      await mcp.close();
    }
  });

  it('with no vault: completes the handshake and every tool says how to create the vault', async () => {
    const h = makeHome(); // no coffer init
    const mcp = await startMcp({ env: h.env, cwd: h.home, protocol: '2025-11-25' });
    try {
      const listed = await mcp.client.listTools();
      expect(listed.tools.map((t) => t.name)).toEqual(TOOLS);
      for (const [tool, args] of [
        ['list_secrets', { scope: 'project', project: 'consilio' }],
        ['get_secret', { keyPath: 'project/consilio/stripe_api_key' }],
        [
          'set_secret',
          {
            keyPath: 'project/consilio/stripe_api_key',
            value: VALUE,
            description: STRIPE_DESCRIPTION,
          },
        ],
      ] as const) {
        const r = await mcp.call(tool, args);
        expect(r.isError, tool).toBe(true);
        const error = (
          r.structuredContent as { error: { code: string; message: string; hint: string } }
        ).error;
        expect(error.code, tool).toBe('VAULT_NOT_FOUND');
        expect(error.message, tool).toContain('no vault at');
        expect(error.hint, tool).toContain('`coffer init`');
        expect(error.hint, tool).toContain('restart this MCP server');
        expect(JSON.stringify(r), tool).not.toContain(VALUE);
      }
      expect(mcp.errors).toEqual([]);
      expect(mcp.stderr()).toContain('the vault cannot be opened');
    } finally {
      await mcp.close();
    }
  });
});

describe('path globs no key path can match', () => {
  it('token create and mcp --allow refuse them with the rule and a hint, exit 2', () => {
    const h = vault();
    const tooDeep = '**/a/b/c/d';
    const message =
      'the path glob "**/a/b/c/d" has 4 segments besides **: it can never match a key path';
    const json = h.run(['token', 'create', '--name', 'deep', '--allow', tooDeep, '--json']);
    expect(json.code, json.stderr).toBe(2);
    expect(json.stdout).toBe('');
    const { error } = JSON.parse(json.stderr);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', message });
    expect(error.hint).toContain('at most 3 besides **');
    const mcp = h.run(['mcp', '--allow', tooDeep], { input: '' });
    expect(mcp.code, mcp.stderr).toBe(2);
    expect(mcp.stdout).toBe('');
    expect(mcp.stderr).toBe(`coffer: error: ${message}\ncoffer: hint: ${error.hint}\n`);
    // A run of ** is one **: the glob is stored merged.
    const ok = h.run(['token', 'create', '--name', 'deep', '--allow', `${'**/'.repeat(66)}zz`]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(h.run(['token', 'list']).stdout).toMatch(/deep +active +read.* \*\*\/zz /);
  });
});

describe('suggestions name what exists', () => {
  const h = makeHome();
  beforeAll(() => {
    expect(h.run(['init']).code).toBe(0);
    for (const [path, d, env] of [
      ['project/consilio/stripe_api_key', STRIPE_DESCRIPTION, 'dev'],
      ['project/consilio/db_password', 'PostgreSQL production database password', 'prod'],
    ] as const) {
      const r = h.run(['set', path, '-d', d], { input: 'v-Qx81', env: { COFFER_ENV: env } });
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it.each([
    [
      ['list', 'project/consilio/stripe_api_key'],
      2,
      'project/consilio/stripe_api_key is a secret, not a prefix: list its project with `coffer list project/consilio`',
    ],
    [['get', 'stripe_api_key'], 2, 'did you mean project/consilio/stripe_api_key?'],
    [['get', 'project/consilio/stripe_apikey'], 3, 'did you mean project/consilio/stripe_api_key?'],
    [
      ['history', 'project/consilo/stripe_api_key'],
      3,
      'did you mean project/consilio/stripe_api_key?',
    ],
    [
      ['get', 'project/consilio/db_password', '--env', 'prd'],
      3,
      'exists in environment prod: did you mean --env prod?',
    ],
    [
      ['run', '--project', 'project/consilio', '--', 'node', '-e', '0'],
      2,
      'did you mean --project consilio?',
    ],
    [['env', 'pull', '--project', 'project/consilio'], 2, 'did you mean --project consilio?'],
  ])('%j', (args, code, hint) => {
    const r = h.run(args);
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toContain(hint);
    // No made-up names, no values.
    expect(r.stderr).not.toMatch(/stripe_api_key_x|project\/stripe\/api_key|project\/project/);
    expect(r.stderr).not.toMatch(/Qx81/);
  });

  it('an empty list says what is close', () => {
    const env = h.run(['list', 'project/consilio', '--env', 'prd']);
    expect(env.code).toBe(0);
    expect(env.stderr).toContain('no secrets found under project/consilio in environment prd');
    expect(env.stderr).toContain('did you mean --env prod?');
    const project = h.run(['list', 'project/consilo']);
    expect(project.stderr).toContain('did you mean project/consilio?');
  });

  it('with nothing close, the grammar fix stays (and no name is made up)', () => {
    const r = h.run(['get', 'zzz_token']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give the full path: project/{project}/zzz_token');
  });
});
