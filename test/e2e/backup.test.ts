/**
 * `coffer backup`, `backup verify` and `backup restore` through the built binary: the file is
 * 0600 and opens with `age -d` (where Debian's `age` and `script` are installed), the
 * refusals exit with clear errors, and a backup SIGKILLed at any moment leaves either no file
 * or a complete one, never a partial one. The round trip SQLite -> backup -> PostgreSQL ->
 * backup -> SQLite keeps every version's value, the tokens, `verify --all` and the audit chain
 * (PostgreSQL when COFFER_TEST_DATABASE_URL is set, in a throw-away schema; otherwise the skip
 * is reported by name).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { insertOlderToken } from '../helpers/older-token.js';
import { populateVault } from '../helpers/vault.js';
import { finished, makeHome, type RunResult, spawnCoffer } from './harness.js';
import {
  reportSkipped,
  TEST_DATABASE_URL,
  type ThrowAwayDatabase,
  throwAwayDatabase,
} from './serve-harness.js';

const PASS = 'e2e backup passphrase';
const FAST = ['--work-factor', '14'];
const DESCRIPTION = 'Database URL of the billing service';

function setup() {
  const h = makeHome();
  const env = { ...h.env, COFFER_BACKUP_PASSPHRASE: PASS };
  const run = (args: string[], input = '', extra: Record<string, string> = {}) =>
    h.run(args, { env: { ...env, ...extra }, input, cwd: h.home });
  expect(run(['init']).code).toBe(0);
  const values = new Map<string, string>();
  for (let i = 0; i < 3; i++) {
    const value = `postgres://billing:${randomBytes(8).toString('hex')}@db/${i}`;
    values.set(`project/billing/db_url_${i}`, value);
    const r = run(['set', `project/billing/db_url_${i}`, '-d', DESCRIPTION], value);
    expect(r.code, r.stderr).toBe(0);
  }
  return { ...h, env, run, values, keyFile: join(h.home, '.coffer', 'master.key') };
}

const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

describe('coffer backup (binary)', () => {
  it('writes a 0600 file that verifies and restores into a new vault with every value', () => {
    const h = setup();
    const b = h.run(['backup', '--out', 'v.age', ...FAST, '--json']);
    expect(b.code, b.stderr).toBe(0);
    const file = join(h.home, 'v.age');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const info = JSON.parse(b.stdout) as { counts: { secrets: number; versions: number } };
    expect(info.counts).toMatchObject({ secrets: 3, versions: 3 });
    // Nothing of a value or the passphrase in the file's clear parts or in the output.
    const raw = readFileSync(file).toString('latin1');
    for (const v of [...h.values.values(), PASS]) {
      expect(raw).not.toContain(v);
      expect(b.stdout + b.stderr).not.toContain(v);
    }

    const verify = h.run(['backup', 'verify', 'v.age']);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/3 versions opened/);
    expect(verify.stdout).toMatch(/chain verifies/);

    const target = join(h.home, 'restored', 'vault.db');
    const r = h.run(['--key-file', h.keyFile, 'backup', 'restore', 'v.age', '--vault', target]);
    expect(r.code, r.stderr).toBe(0);
    for (const [path, value] of h.values) {
      const g = h.run(['--vault', target, '--key-file', h.keyFile, 'get', path]);
      expect(g.stdout).toBe(`${value}\n`);
    }
    const audit = h.run(['--vault', target, '--key-file', h.keyFile, 'audit', 'verify']);
    expect(audit.code, audit.stderr).toBe(0);
    const log = h.run(['--vault', target, '--key-file', h.keyFile, 'audit', '--json']);
    expect(log.stdout).toContain('vault.restore');
    // The source vault recorded the backup.
    expect(h.run(['audit', '--json']).stdout).toContain('vault.backup');
  });

  it('a restore that fails leaves no vault file behind, so the retry with the right key works', () => {
    const h = setup();
    expect(h.run(['backup', '-o', 'v.age', ...FAST]).code).toBe(0);
    const target = join(h.home, 'retry', 'vault.db');
    const wrongKey = randomBytes(32).toString('base64');
    const failed = h.run(['backup', 'restore', 'v.age', '--vault', target], '', {
      COFFER_MASTER_KEY: wrongKey,
    });
    expect(failed.code).toBe(4);
    expect(failed.stderr).not.toMatch(/\n\s+at /);
    for (const f of ['', '-wal', '-shm']) expect(existsSync(`${target}${f}`)).toBe(false);
    const r = h.run(['--key-file', h.keyFile, 'backup', 'restore', 'v.age', '--vault', target]);
    expect(r.code, r.stderr).toBe(0);
    const [path, value] = [...h.values][0]!;
    expect(h.run(['--vault', target, '--key-file', h.keyFile, 'get', path]).stdout).toBe(
      `${value}\n`,
    );
  });

  it('a restore killed mid-way (coffer tables, nothing in them) is retried; a vault or another database is not restored over', async () => {
    const h = setup();
    expect(h.run(['backup', '-o', 'v.age', ...FAST]).code).toBe(0);
    const target = join(h.home, 'killed.db');
    // What a restore leaves when it is killed: the schema, its one transaction never committed.
    const { openSqliteStorage } = await import('../../src/storage/sqlite/sqlite-storage.js');
    await (await openSqliteStorage(target, { create: true })).close();
    const r = h.run(['--key-file', h.keyFile, 'backup', 'restore', 'v.age', '--vault', target]);
    expect(r.code, r.stderr).toBe(0);
    const [path, value] = [...h.values][0]!;
    expect(h.run(['--vault', target, '--key-file', h.keyFile, 'get', path]).stdout).toBe(
      `${value}\n`,
    );
    // Now a vault: refused, and unchanged.
    const before = readFileSync(target);
    const again = h.run(['--key-file', h.keyFile, 'backup', 'restore', 'v.age', '--vault', target]);
    expect(again.code).toBe(5);
    expect(again.stderr).toContain('a backup is restored into an empty store only');
    expect(readFileSync(target).equals(before)).toBe(true);
    const { default: Database } = await import('better-sqlite3');
    const app = join(h.home, 'app.db');
    const db = new Database(app);
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY)');
    db.close();
    const other = h.run(['--key-file', h.keyFile, 'backup', 'restore', 'v.age', '--vault', app]);
    expect(other.code).toBe(5);
  });

  it('with --include-master-key restores a self-contained vault, key file included', () => {
    const h = setup();
    expect(h.run(['backup', '-o', 'kit.age', ...FAST, '--include-master-key']).code).toBe(0);
    const target = join(h.home, 'kit', 'vault.db');
    const r = h.run(['backup', 'restore', 'kit.age', '--vault', target]);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(join(h.home, 'kit', 'master.key')).mode & 0o777).toBe(0o600);
    const [path, value] = [...h.values][0]!;
    expect(h.run(['--vault', target, 'get', path]).stdout).toBe(`${value}\n`);
    // With COFFER_MASTER_KEY set to another key, a backup that carries its own is refused:
    // anyone who knows an age recipient can make one, with a key and values of their own.
    const other = join(h.home, 'other', 'vault.db');
    const refused = h.run(['backup', 'restore', 'kit.age', '--vault', other], '', {
      COFFER_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'),
    });
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('COFFER_MASTER_KEY holds another key');
    expect(existsSync(other)).toBe(false);
  });

  it('a vault with tokens an earlier coffer made (70 globs, a 4-segment glob) backs up, verifies with a warning and restores them revoked', async () => {
    const h = setup();
    // Written as an earlier coffer wrote them: no caps on the globs, a valid row MAC.
    const { openSqliteStorage } = await import('../../src/storage/sqlite/sqlite-storage.js');
    const { Vault } = await import('../../src/core/store/vault.js');
    const { readKeyFile } = await import('../../src/core/keys/master-key.js');
    const storage = openSqliteStorage(join(h.home, '.coffer', 'vault.db'));
    const vault = new Vault(storage, readKeyFile(h.keyFile), { actor: 'older-coffer' });
    const older = [
      ['ci-wide', Array.from({ length: 70 }, (_, i) => `project/p${i}/*`)],
      ['ci-deep', ['project/**/billing/x/*']],
    ] as const;
    for (const [name, allow] of older) await insertOlderToken(vault, { name, allow });
    vault.close();
    await storage.close();
    const mine = h.run(['token', 'create', '--name', 'deploy', '--allow', 'project/billing/*']);
    expect(mine.code, mine.stderr).toBe(0);

    const b = h.run(['backup', '-o', 'v.age', ...FAST]);
    expect(b.code, b.stderr).toBe(0);
    for (const name of ['ci-wide', 'ci-deep']) {
      // Named once, with why and what a restore does.
      expect(b.stderr.split(`the token "${name}"`).length - 1, b.stderr).toBe(1);
    }
    expect(b.stderr).toContain('70 path globs: a policy holds at most 64');
    expect(b.stderr).toContain('a restore of this backup brings it back revoked');
    expect(b.stderr).not.toContain('"deploy"');

    const verify = h.run(['backup', 'verify', 'v.age']);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(
      /WARNING {3}the token "ci-wide" has path globs beyond .*70 path globs/,
    );
    expect(verify.stdout).toMatch(
      /WARNING {3}the token "ci-deep" has path globs beyond .*4 segments/,
    );
    expect(verify.stdout.trimEnd().endsWith('ok')).toBe(true);
    const json = JSON.parse(h.run(['backup', 'verify', 'v.age', '--json']).stdout) as {
      ok: boolean;
      tokensBeyondCaps: { name: string }[];
    };
    expect(json.ok).toBe(true);
    expect(json.tokensBeyondCaps.map((t) => t.name)).toEqual(['ci-wide', 'ci-deep']);

    const target = join(h.home, 'restored', 'vault.db');
    const at = ['--vault', target, '--key-file', h.keyFile];
    const r = h.run(['--key-file', h.keyFile, 'backup', 'restore', 'v.age', '--vault', target]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /warning: the token "ci-wide" has path globs beyond .*so it was restored revoked: give whoever used it a new token with at most 64 globs/,
    );
    expect(r.stderr).toMatch(
      /warning: the token "ci-deep" has path globs beyond .*restored revoked/,
    );
    for (const [path, value] of h.values) {
      expect(h.run([...at, 'get', path]).stdout).toBe(`${value}\n`);
    }
    const list = JSON.parse(h.run([...at, 'token', 'list', '--json']).stdout) as {
      tokens: { name: string; revokedAt: string | null }[];
    };
    const revoked = Object.fromEntries(list.tokens.map((t) => [t.name, t.revokedAt !== null]));
    expect(revoked).toEqual({ 'ci-wide': true, 'ci-deep': true, deploy: false });
    expect(h.run([...at, 'verify', '--all']).code).toBe(0);
    expect(h.run([...at, 'audit', 'verify']).code).toBe(0);
    const log = h.run([...at, 'audit', '--json']).stdout;
    expect(log).toContain('token_revoke');
  });

  it('refuses a wrong passphrase, a flipped byte, a truncated file and a non-empty target', () => {
    const h = setup();
    expect(h.run(['backup', '-o', 'v.age', ...FAST]).code).toBe(0);
    const file = join(h.home, 'v.age');
    const bytes = readFileSync(file);

    const wrong = h.run(['backup', 'verify', 'v.age'], '', { COFFER_BACKUP_PASSPHRASE: 'nope' });
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toMatch(/the passphrase does not open this backup/);

    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 30]! ^= 0x01;
    writeFileSync(join(h.home, 'flipped.age'), flipped);
    const f = h.run(['backup', 'verify', 'flipped.age']);
    expect(f.code).toBe(4);
    expect(f.stderr).toMatch(/damaged or truncated/);

    writeFileSync(join(h.home, 'cut.age'), bytes.subarray(0, bytes.length - 100));
    const c = h.run(['backup', 'restore', 'cut.age', '--vault', join(h.home, 'cut', 'vault.db')]);
    expect(c.code).toBe(4);
    expect(c.stderr).toMatch(/damaged or truncated/);
    expect(existsSync(join(h.home, 'cut', 'vault.db'))).toBe(false);

    const busy = h.run(['backup', 'restore', 'v.age']);
    expect(busy.code).toBe(5);
    expect(busy.stderr).toMatch(/restored into an empty store only/);

    // --json would follow the backup on stdout: refused before anything is written.
    const json = h.run(['backup', '-o', '-', '--json', ...FAST]);
    expect(json.code).toBe(2);
    expect(json.stdout).toBe('');
    expect(json.stderr).toMatch(/--json cannot be used with --out -/);

    for (const r of [wrong, f, c, busy, json]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('`age -d` decrypts a passphrase backup', () => {
    if (!has('age') || !has('script')) {
      console.warn('SKIPPED age -d interoperability: the age or script command is not installed');
      return;
    }
    const h = setup();
    expect(h.run(['backup', '-o', 'v.age', ...FAST]).code).toBe(0);
    // age reads a passphrase from a terminal only: script(1) gives it one.
    const out = join(h.home, 'plain.jsonl');
    const r = spawnSync(
      'script',
      ['-qec', `age -d -o ${out} ${join(h.home, 'v.age')}`, '/dev/null'],
      { input: `${PASS}\n`, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ format: 'coffer-backup', version: 1 });
    expect(JSON.parse(lines[lines.length - 1]!)).toMatchObject({ t: 'end' });
  });

  it('`age -d -i` decrypts a backup made to an age recipient (no terminal needed)', () => {
    if (!has('age') || !has('age-keygen')) {
      console.warn(
        'SKIPPED age -d -i interoperability: the age or age-keygen command is not installed',
      );
      return;
    }
    const h = setup();
    const id = join(h.home, 'id.txt');
    expect(spawnSync('age-keygen', ['-o', id]).status).toBe(0);
    const recipient = spawnSync('age-keygen', ['-y', id], { encoding: 'utf8' }).stdout.trim();
    const b = h.run(['backup', '-o', 'r.age', '--recipient', recipient]);
    expect(b.code, b.stderr).toBe(0);
    const r = spawnSync('age', ['-d', '-i', id, join(h.home, 'r.age')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ format: 'coffer-backup', version: 1 });
    expect(JSON.parse(lines[lines.length - 1]!)).toMatchObject({ t: 'end' });
    const v = h.run(['backup', 'verify', 'r.age', '--identity', id]);
    expect(v.code, v.stderr).toBe(0);
  });

  it('an identity file past 64 KiB (a huge file, /dev/zero) is refused by name, nothing restored', async () => {
    const { generateIdentity, identityToRecipient } = await import('age-encryption');
    const h = setup();
    const identity = await generateIdentity();
    const b = h.run(['backup', '-o', 'r.age', '--recipient', await identityToRecipient(identity)]);
    expect(b.code, b.stderr).toBe(0);
    const id = join(h.home, 'id.txt');
    writeFileSync(id, `# test identity\n${identity}\n`);
    expect(h.run(['backup', 'verify', 'r.age', '--identity', id]).code).toBe(0);
    // The right identity, in a file grown (sparse) past the cap: refused before it is read.
    const huge = join(h.home, 'huge.txt');
    writeFileSync(huge, `${identity}\n`);
    truncateSync(huge, 2 * 1024 * 1024 * 1024);
    const target = join(h.home, 'restored', 'vault.db');
    for (const file of [huge, '/dev/zero']) {
      for (const args of [
        ['backup', 'verify', 'r.age', '--identity', file],
        [
          '--key-file',
          h.keyFile,
          'backup',
          'restore',
          'r.age',
          '--vault',
          target,
          '--identity',
          file,
        ],
      ]) {
        const r = h.run(args);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toContain(
          `${file} is larger than 64 KiB, the limit for an age identity file`,
        );
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(r.stderr).not.toContain(identity);
        expect(existsSync(target)).toBe(false);
      }
    }
  });

  it('a backup killed at any moment leaves no file or a complete one, never a partial one', async () => {
    const h = makeHome();
    const env = { ...h.env, COFFER_BACKUP_PASSPHRASE: PASS };
    expect(h.run(['init']).code).toBe(0);
    await populateVault(
      join(h.home, '.coffer', 'vault.db'),
      new Uint8Array(
        Buffer.from(readFileSync(join(h.home, '.coffer', 'master.key'), 'utf8').trim(), 'base64'),
      ),
      3000,
    );
    for (let i = 0; i < 6; i++) {
      const name = `k${i}.age`;
      const child = spawnCoffer(['backup', '-o', name, ...FAST], { env, cwd: h.home });
      const done = finished(child);
      // Kill after i turns of reading its stderr/exit (no clock): early, midway or after.
      for (let n = 0; n < i * 40; n++) await new Promise((r) => setImmediate(r));
      child.kill('SIGKILL');
      const r = await done;
      const left = readdirSync(h.home).filter((f) => f.startsWith(name));
      if (r.code === 0) {
        expect(left).toEqual([name]);
        expect(h.run(['backup', 'verify', name], { env, cwd: h.home }).code).toBe(0);
      } else {
        // Killed: nothing under the backup's name. (A kill inside the final write could leave
        // a `NAME.<pid>.<random>.tmp`, never NAME itself.)
        expect(left.filter((f) => f === name)).toEqual([]);
      }
    }
  });
});

reportSkipped('the binary backup round trip through PostgreSQL');

describe.skipIf(!TEST_DATABASE_URL)('coffer backup round trip through PostgreSQL (binary)', () => {
  const dbs: ThrowAwayDatabase[] = [];
  afterAll(async () => {
    for (const db of dbs.splice(0)) await db.drop();
  });

  it('SQLite -> backup -> PostgreSQL -> backup -> SQLite keeps secrets, versions, tokens and the audit chain', () => {
    const h = setup();
    // More versions and a second environment on top of setup's three secrets.
    for (let v = 2; v <= 4; v++) {
      const value = `postgres://billing:${randomBytes(8).toString('hex')}@db/v${v}`;
      expect(h.run(['set', 'project/billing/db_url_0'], value).code).toBe(0);
    }
    const prod = `sk-prod-${randomBytes(8).toString('hex')}`;
    expect(
      h.run(['set', 'project/billing/db_url_1', '--env', 'prod', '-d', DESCRIPTION], prod).code,
    ).toBe(0);
    const token = h.run([
      'token',
      'create',
      '--name',
      'deploy',
      '--allow',
      'project/billing/*',
      '--cap',
      'read',
      '--json',
    ]);
    expect(token.code, token.stderr).toBe(0);

    const db = throwAwayDatabase(TEST_DATABASE_URL!);
    dbs.push(db);
    const pg = { COFFER_DATABASE_URL: db.url };
    const target = join(h.home, 'restored', 'vault.db');
    const original = state(h.run);
    expect(original.values.size).toBe(7);
    expect(original.tokens.map((t) => t.name)).toEqual(['deploy']);

    const first = h.run(['backup', '-o', 'sqlite.age', ...FAST]);
    expect(first.code, first.stderr).toBe(0);
    const intoPg = h.run(['backup', 'restore', 'sqlite.age'], '', pg);
    expect(intoPg.code, intoPg.stderr).toBe(0);
    const second = h.run(['backup', '-o', 'postgres.age', ...FAST, '--json'], '', pg);
    expect(second.code, second.stderr).toBe(0);
    const back = h.run([
      '--vault',
      target,
      '--key-file',
      h.keyFile,
      'backup',
      'restore',
      'postgres.age',
    ]);
    expect(back.code, back.stderr).toBe(0);
    // Nothing of a value in any output on the way.
    for (const r of [first, intoPg, second, back]) {
      for (const v of original.values.values()) expect(r.stdout + r.stderr).not.toContain(v);
    }

    const legs = [
      ['PostgreSQL', 1, (args: string[]) => h.run(args, '', pg)],
      [
        'SQLite',
        2,
        (args: string[]) => h.run(['--vault', target, '--key-file', h.keyFile, ...args]),
      ],
    ] as const;
    for (const [where, restores, run] of legs) {
      const s = state(run);
      expect(s.list, where).toEqual(original.list);
      expect(s.values, where).toEqual(original.values);
      expect(s.tokens, where).toEqual(original.tokens);
      expect(s.verify, where).toEqual({ ...original.verify, ok: true });
      expect(s.auditOk, where).toBe(true);
      // The original chain is a prefix of the restored one, which records each restore.
      expect(s.audit.slice(0, original.audit.length), where).toEqual(original.audit);
      const restoreRecords = s.audit.filter((r) => r.action === 'vault.restore');
      expect(restoreRecords, where).toHaveLength(restores);
    }
  });
});

interface ListItem {
  path: string;
  env: string;
  currentVersion: number;
}

/** What a vault holds, read through the binary: every version's value, tokens, checks. */
function state(run: (args: string[]) => RunResult) {
  const json = <T>(args: string[]): T => {
    const r = run([...args, '--json']);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  const list = json<{ items: ListItem[] }>(['list', '--all-envs']).items.map((i) => ({
    path: i.path,
    env: i.env,
    currentVersion: i.currentVersion,
  }));
  const values = new Map<string, string>();
  for (const item of list) {
    const { versions } = json<{ versions: { version: number }[] }>([
      'history',
      item.path,
      '--env',
      item.env,
    ]);
    for (const { version } of versions) {
      const got = json<{ value: string }>([
        'get',
        item.path,
        '--env',
        item.env,
        '--version',
        String(version),
      ]);
      values.set(`${item.path} ${item.env} v${version}`, got.value);
    }
  }
  const tokens = json<{ tokens: Record<string, unknown>[] }>(['token', 'list']).tokens;
  const verify = json<Record<string, unknown>>(['verify', '--all']);
  const auditOk = json<{ ok: boolean }>(['audit', 'verify']).ok;
  const audit = json<{ records: { seq: number; action: string; hash: string }[] }>([
    'audit',
    '-n',
    '100000',
  ]).records.map(({ seq, action, hash }) => ({ seq, action, hash }));
  return { list, values, tokens, verify, auditOk, audit };
}
