/**
 * The CLI on a PostgreSQL vault (COFFER_DATABASE_URL): init, set, get, list, history, audit
 * verify, key status and rotate, tokens, passphrase vaults, two homes sharing one database,
 * and the errors of what only applies to a vault file. Also: a command on a SQLite vault
 * never loads the pg driver.
 *
 * The PostgreSQL part runs only when COFFER_TEST_DATABASE_URL is set (in a throw-away schema,
 * dropped afterwards); otherwise the skip is reported by name.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeHome, type RunResult } from './harness.js';
import {
  randomMasterKey,
  reportSkipped,
  TEST_DATABASE_URL,
  type ThrowAwayDatabase,
  throwAwayDatabase,
} from './serve-harness.js';

const DESCRIPTION = 'Database password of the billing service';
const VALUE = 'pg-Value-7f3a9c21e4';

reportSkipped('PostgreSQL CLI tests');

function json<T>(r: RunResult): T {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

/** A home whose `node` loads a hook that writes every `pg` module load into `trace`. */
function tracedHome() {
  const h = makeHome();
  const trace = join(h.home, 'pg-loads.txt');
  const hook = join(h.home, 'trace-pg.cjs');
  writeFileSync(
    hook,
    `const Module = require('node:module');
const fs = require('node:fs');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'pg' || request.startsWith('pg/')) fs.appendFileSync(${JSON.stringify(trace)}, request + '\\n');
  return load.call(this, request, ...rest);
};
`,
  );
  return { ...h, trace, nodeOptions: `--require ${hook}` };
}

describe('the pg driver is loaded only for a PostgreSQL vault', () => {
  it('init, set, get and list on a SQLite vault do not load pg', () => {
    const h = tracedHome();
    const env = { NODE_OPTIONS: h.nodeOptions };
    expect(h.run(['init'], { env }).code).toBe(0);
    const set = h.run(['set', 'project/billing/db_password', '-d', DESCRIPTION], {
      env,
      input: VALUE,
    });
    expect(set.code, set.stderr).toBe(0);
    const got = h.run(['get', 'project/billing/db_password'], { env });
    expect(got.stdout).toBe(`${VALUE}\n`);
    expect(h.run(['list'], { env }).code).toBe(0);
    expect(existsSync(h.trace)).toBe(false);
  });

  it.skipIf(!TEST_DATABASE_URL)('a command on a PostgreSQL vault does load it', async () => {
    const h = tracedHome();
    const db = throwAwayDatabase(TEST_DATABASE_URL!);
    try {
      const env = { NODE_OPTIONS: h.nodeOptions, COFFER_DATABASE_URL: db.url };
      // No vault in the schema yet: the driver is loaded, the answer is "not found".
      const r = h.run(['get', 'project/billing/db_password'], { env });
      expect(r.code).toBe(3);
      expect(existsSync(h.trace)).toBe(true);
    } finally {
      await db.drop();
    }
  });
});

describe.skipIf(!TEST_DATABASE_URL)('the CLI on a PostgreSQL vault', () => {
  const dbs: ThrowAwayDatabase[] = [];
  const database = () => {
    const db = throwAwayDatabase(TEST_DATABASE_URL!);
    dbs.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it('init, set, get, list, history, audit verify, key status and rotate, tokens', () => {
    const db = database();
    const h = makeHome();
    const env = { COFFER_DATABASE_URL: db.url };
    const run = (args: string[], input?: string) => h.run(args, { env, input: input ?? '' });

    const missing = run(['get', 'project/billing/db_password']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(`schema=${db.schema}`);
    expect(missing.stderr).toContain('coffer init');

    const init = json<Record<string, unknown>>(run(['init', '--json']));
    expect(init).toMatchObject({
      storage: 'postgres',
      keySource: 'key',
      keyFile: join(h.env.COFFER_HOME!, 'master.key'),
      keyFileCreated: true,
      kekId: 'k1',
    });
    expect(init.vault).toContain(`schema=${db.schema}`);
    // No vault file: the vault is the database.
    expect(existsSync(join(h.env.COFFER_HOME!, 'vault.db'))).toBe(false);

    const again = run(['init']);
    expect(again.code).toBe(5);
    expect(again.stderr).toContain('already exists');

    expect(
      json(run(['set', 'project/billing/db_password', '-d', DESCRIPTION, '--json'], VALUE)),
    ).toEqual({
      path: 'project/billing/db_password',
      env: 'dev',
      version: 1,
      created: true,
    });
    expect(
      run(['set', 'project/billing/db_password', '--if-version', '1'], `${VALUE}-2`).code,
    ).toBe(0);
    const lost = run(['set', 'project/billing/db_password', '--if-version', '1'], `${VALUE}-3`);
    expect(lost.code).toBe(5);
    expect(lost.stderr).not.toContain(VALUE);
    expect(
      run(['set', 'project/billing/db_password', '--env', 'prod', '-d', DESCRIPTION], 'prod-v')
        .code,
    ).toBe(0);

    expect(run(['get', 'project/billing/db_password']).stdout).toBe(`${VALUE}-2\n`);
    expect(run(['get', 'project/billing/db_password', '--version', '1']).stdout).toBe(`${VALUE}\n`);
    expect(run(['get', 'project/billing/db_password', '--env', 'prod']).stdout).toBe('prod-v\n');

    const list = json<{ items: { path: string; env: string; currentVersion: number }[] }>(
      run(['list', 'project/billing', '--json']),
    );
    expect(list.items.map((i) => [i.path, i.env, i.currentVersion])).toEqual([
      ['project/billing/db_password', 'dev', 2],
    ]);
    expect(run(['list', '--json']).stdout).not.toContain(VALUE);

    const history = json<{ versions: { version: number }[] }>(
      run(['history', 'project/billing/db_password', '--json']),
    );
    expect(history.versions.map((v) => v.version).sort()).toEqual([1, 2]);

    expect(json<{ storage: string }>(run(['key', 'status', '--json'])).storage).toBe('postgres');
    expect(json<{ newKey: string }>(run(['key', 'rotate', '--json'])).newKey).toBe('k2');
    expect(run(['get', 'project/billing/db_password']).stdout).toBe(`${VALUE}-2\n`);

    const token = json<{ name: string; token: string }>(
      run(['token', 'create', '--name', 'ci', '--allow', 'project/billing/*', '--json']),
    );
    expect(token.name).toBe('ci');
    expect(run(['token', 'list']).stdout).toContain('ci');

    const verify = json<{ ok: boolean; records: number }>(run(['audit', 'verify', '--json']));
    expect(verify.ok).toBe(true);
    expect(verify.records).toBeGreaterThan(8);
    expect(run(['verify', '--all']).code).toBe(0);
  });

  it('two homes with the same master key share the vault; a wrong key is refused', () => {
    const db = database();
    const key = randomMasterKey();
    const a = makeHome();
    const b = makeHome();
    const envA = { COFFER_DATABASE_URL: db.url, COFFER_MASTER_KEY: key };
    const envB = { COFFER_DATABASE_URL: db.url, COFFER_MASTER_KEY: key };
    const init = json<{ keyFile: string | null }>(a.run(['init', '--json'], { env: envA }));
    expect(init.keyFile).toBeNull();
    const set = a.run(['set', 'meta/smtp/password', '-d', 'Password of the SMTP relay'], {
      env: envA,
      input: VALUE,
    });
    expect(set.code, set.stderr).toBe(0);
    expect(b.run(['get', 'meta/smtp/password'], { env: envB }).stdout).toBe(`${VALUE}\n`);

    const wrong = b.run(['get', 'meta/smtp/password'], {
      env: { ...envB, COFFER_MASTER_KEY: randomMasterKey() },
    });
    expect(wrong.code).toBe(4);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).not.toContain(VALUE);
    // Without a master key source at all: the default key file is missing.
    const none = b.run(['get', 'meta/smtp/password'], { env: { COFFER_DATABASE_URL: db.url } });
    expect(none.code).not.toBe(0);
    expect(none.stdout).toBe('');
  });

  it('a second init with no key file leaves no key file behind', () => {
    const db = database();
    const a = makeHome();
    const b = makeHome();
    const env = { COFFER_DATABASE_URL: db.url };
    expect(a.run(['init'], { env }).code).toBe(0);
    const again = b.run(['init'], { env });
    expect(again.code).toBe(5);
    expect(existsSync(join(b.env.COFFER_HOME!, 'master.key'))).toBe(false);
  });

  it('agent setup names no vault file for a PostgreSQL vault, and agent check opens the database', () => {
    const db = database();
    const h = makeHome();
    const env = { COFFER_DATABASE_URL: db.url };
    expect(h.run(['init'], { env }).code).toBe(0);
    const dir = join(h.home, 'app');
    mkdirSync(dir);
    writeFileSync(join(dir, '.coffer'), 'project=billing\n');
    const setup = h.run(['agent', 'setup', '--client', 'claude-code', '-e', 'dev'], {
      env,
      cwd: dir,
    });
    expect(setup.code, setup.stderr).toBe(0);
    const entry = JSON.parse(readFileSync(join(dir, '.mcp.json'), 'utf8')).mcpServers.coffer;
    expect(entry.args).not.toContain('--vault');
    expect(JSON.stringify(entry)).not.toContain(db.url);
    const check = h.run(['agent', 'check', '--client', 'claude-code'], { env, cwd: dir });
    expect(check.stdout).toMatch(/ok +vault: opens without a prompt/);
    expect(check.code, check.stdout).toBe(0);
  });

  it('a passphrase vault in PostgreSQL', () => {
    const db = database();
    const h = makeHome();
    const env = { COFFER_DATABASE_URL: db.url, COFFER_PASSPHRASE: 'correct horse battery' };
    const init = json<{ keySource: string; keyFile: string | null }>(
      h.run(['init', '--passphrase', '--kdf-log-n', '14', '--json'], { env }),
    );
    expect(init).toMatchObject({ keySource: 'passphrase', keyFile: null });
    expect(
      h.run(['set', 'project/app/api_key', '-d', 'API key of the app for its PostgreSQL tests'], {
        env,
        input: VALUE,
      }).code,
    ).toBe(0);
    expect(h.run(['get', 'project/app/api_key'], { env }).stdout).toBe(`${VALUE}\n`);
    const wrong = h.run(['get', 'project/app/api_key'], {
      env: { ...env, COFFER_PASSPHRASE: 'wrong horse battery' },
    });
    expect(wrong.code).toBe(4);
    expect(wrong.stdout).toBe('');
  });

  it('what applies to a vault file only is refused, and bad URLs are clear errors', () => {
    const db = database();
    const h = makeHome();
    const vaultFile = join(h.home, 'other.db');
    const r = h.run(['--vault', vaultFile, 'init'], { env: { COFFER_DATABASE_URL: db.url } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--vault');
    expect(r.stderr).toContain('COFFER_DATABASE_URL');
    expect(existsSync(vaultFile)).toBe(false);

    const g = h.run(['--vault', vaultFile, 'get', 'project/a/b'], {
      env: { COFFER_DATABASE_URL: db.url },
    });
    expect(g.code).toBe(2);

    const notPg = h.run(['get', 'project/a/b'], { env: { COFFER_DATABASE_URL: 'mysql://x@y/z' } });
    expect(notPg.code).toBe(2);
    expect(notPg.stderr).toContain('postgres://');

    const bad = new URL(TEST_DATABASE_URL!);
    bad.searchParams.set('schema', 'Bad-Name');
    const badSchema = h.run(['get', 'project/a/b'], {
      env: { COFFER_DATABASE_URL: bad.toString() },
    });
    expect(badSchema.code).toBe(2);
    expect(badSchema.stderr).toContain('schema');
  });

  it('a password in the URL never appears in messages', () => {
    const db = database();
    const h = makeHome();
    const password = 'pw-Never-Shown-91c2';
    const url = new URL(db.url);
    url.username ||= 'postgres';
    url.password = password;
    // Nothing there yet (not found), and an unreachable server.
    const missing = h.run(['get', 'project/a/b'], { env: { COFFER_DATABASE_URL: url.toString() } });
    expect(missing.code).toBe(3);
    url.port = '1';
    const down = h.run(['get', 'project/a/b'], { env: { COFFER_DATABASE_URL: url.toString() } });
    expect(down.code).toBe(1);
    for (const r of [missing, down]) {
      expect(r.stderr).not.toContain(password);
      expect(r.stderr).toContain('***');
    }
  });
});
