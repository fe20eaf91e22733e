/**
 * `coffer doctor`, one fixture project per check (test/helpers/doctor-fixture.ts): the
 * problem present (the check fails and names the place), then repaired, by the check's own
 * safe fix where it has one (`--fix` applies exactly these) or as its suggested command
 * would, and a second run passes.
 */

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { acknowledgeAuditBreak } from '../src/core/audit/acknowledge.js';
import { CHECKS, type CheckOutcome } from '../src/core/doctor/index.js';
import { hostTag, hostTagOf } from '../src/core/files.js';
import { closeIncident, openIncident } from '../src/core/incident/index.js';
import { createToken, revokeToken } from '../src/core/index.js';
import { finishRotation, rotateSecret } from '../src/core/rotation/index.js';
import { formatBaseline, updateBaseline } from '../src/core/scan/baseline.js';
import { type DoctorFixture, makeDoctorFixture } from './helpers/doctor-fixture.js';
import { insertOlderToken } from './helpers/older-token.js';
import { SEED_004_ENV_EXAMPLE } from './helpers/seed-004.js';

/** A random value of `n` characters shaped like a generated key. */
const rand = (n = 32) => randomBytes(n).toString('base64url').slice(0, n);
const stripeKey = () => `sk_live_${rand(24).replace(/[-_]/g, 'a')}`;
const DESC = 'Database password of the billing service';
const DAY = 86_400_000;

const fixtures: DoctorFixture[] = [];
afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.cleanup();
});

async function fixture(o: Parameters<typeof makeDoctorFixture>[0] = {}): Promise<DoctorFixture> {
  const f = await makeDoctorFixture(o);
  fixtures.push(f);
  return f;
}

function expectFail(
  o: CheckOutcome,
  place: Partial<Record<'file' | 'keyPath' | 'env' | 'token', string>> = {},
) {
  expect(o.status, JSON.stringify(o.evidence)).toBe('fail');
  if (Object.keys(place).length > 0)
    expect(o.evidence).toContainEqual(expect.objectContaining(place));
}

function expectPass(o: CheckOutcome) {
  expect(o.status, JSON.stringify(o.evidence)).toBe('pass');
  // A check names its fixes whatever it finds; only a failing one reports them.
  expect(o.fixes).toEqual([]);
}

const MANIFEST = `project: billing
environments: [dev, prod]
variables:
  DB_PASSWORD:
    description: ${DESC}
    tier: 1
    source: ask
  SESSION_KEY:
    description: Signs the billing dashboard's session cookies
    tier: 1
    sources:
      dev: { generate: "hex:32" }
      prod: ask
`;

describe('every check has a fixture here', () => {
  it('ids are unique and each is named in this file', () => {
    const ids = CHECKS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    const text = readFileSync(import.meta.filename, 'utf8');
    for (const id of ids) expect(text, id).toContain(`'${id}'`);
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('| Seed 004 checklist |'));
    const docs = readFileSync(join(import.meta.dirname, '..', 'docs', 'doctor.md'), 'utf8');
    for (const c of CHECKS) {
      // The README maps every line of seed 004's checklist to checks; none is left out.
      expect(table, c.id).toMatch(new RegExp(`\`(?:${c.id}|${c.category}/\\*)\``));
      expect(docs, c.id).toContain(`| \`${c.id}\` | ${c.severity} |`);
      expect(c.id.startsWith(`${c.category}/`)).toBe(true);
      expect(c.why).toMatch(/\.$/);
    }
  });
});

describe('files', () => {
  it('files/env-not-ignored: reported, --fix adds it to .gitignore, then clean', async () => {
    const f = await fixture();
    f.write('.env', `DB_PASSWORD=${rand()}\n`, 0o600);
    const bad = await f.check('files/env-not-ignored');
    expectFail(bad, { file: '.env' });
    expect(await f.fix(bad)).toBe(1);
    expect(readFileSync(join(f.root, '.gitignore'), 'utf8')).toContain('/.env');
    expectPass(await f.check('files/env-not-ignored'));
  });

  it('files/env-not-ignored: a temp file of a killed coffer write is deleted, not ignored', async () => {
    const f = await fixture();
    f.write('.gitignore', '.env\n');
    f.write('.env', `DB_PASSWORD=${rand()}\n`, 0o600);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const stray = `.env.coffer-${dead}-df373250.tmp`;
    f.write(stray, `DB_PASSWORD=${rand()}\n`, 0o600);
    const bad = await f.check('files/env-not-ignored');
    expectFail(bad, { file: stray });
    expect(bad.fixes.map((x) => x.description)).toEqual([`delete ${stray}`]);
    expect(await f.fix(bad)).toBe(1);
    expect(existsSync(join(f.root, stray))).toBe(false);
    expect(readFileSync(join(f.root, '.gitignore'), 'utf8')).toBe('.env\n');
    expectPass(await f.check('files/env-not-ignored'));
  });

  it("files/env-not-ignored: another host's temp file (a shared disk) is reported, not deleted", async () => {
    const f = await fixture();
    f.write('.gitignore', '.env\n');
    f.write('.env', `DB_PASSWORD=${rand()}\n`, 0o600);
    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const other = hostTag() === 'ffffffff' ? '00000000' : 'ffffffff';
    const theirs = `.env.coffer-${gone}-${other}-df373250.tmp`;
    const mine = `.env.coffer-${gone}-${hostTag()}-df373250.tmp`;
    f.write(theirs, `DB_PASSWORD=${rand()}\n`, 0o600);
    f.write(mine, `DB_PASSWORD=${rand()}\n`, 0o600);
    const bad = await f.check('files/env-not-ignored');
    expect(bad.evidence).toContainEqual({
      file: theirs,
      message: `${theirs} is a temp file of a coffer write on another host or in another container (the disk is shared): it holds secrets`,
    });
    expectFail(bad, { file: mine });
    // Only this host's is deleted by --fix: another host's writer may be running there.
    expect(bad.fixes.map((x) => [x.description, x.apply !== undefined]).sort()).toEqual(
      [
        [`delete ${mine}`, true],
        [
          `delete ${theirs} once no coffer runs on the host or in the container that wrote it`,
          false,
        ],
      ].sort(),
    );
    expect(await f.fix(bad)).toBe(1);
    expect(existsSync(join(f.root, mine))).toBe(false);
    expect(existsSync(join(f.root, theirs))).toBe(true);
    f.remove(theirs);
    expectPass(await f.check('files/env-not-ignored'));
  });

  it("files/env-not-ignored: a container's temp file (this host name, pids of its own) is another host's", async () => {
    const f = await fixture();
    f.write('.gitignore', '.env\n');
    f.write('.env', `DB_PASSWORD=${rand()}\n`, 0o600);
    // Its pid 1 is not this host's pid 1; a container made anew on each run leaves such files.
    const theirs = `.env.coffer-1-${hostTagOf(hostname(), 'pid:[1]')}-1-df373250.tmp`;
    f.write(theirs, `DB_PASSWORD=${rand()}\n`, 0o600);
    const bad = await f.check('files/env-not-ignored');
    expect(bad.evidence).toEqual([
      {
        file: theirs,
        message: `${theirs} is a temp file of a coffer write on another host or in another container (the disk is shared): it holds secrets`,
      },
    ]);
    expect(bad.fixes.map((x) => [x.description, x.command, x.apply !== undefined])).toEqual([
      [
        `delete ${theirs} once no coffer runs on the host or in the container that wrote it`,
        `rm -- ${theirs}`,
        false,
      ],
    ]);
    expect(await f.fix(bad)).toBe(0);
    expect(existsSync(join(f.root, theirs))).toBe(true);
  });

  it("files/env-not-ignored, files/env-missing, files/modes: a .env write's lock and pid files are no .env files", async () => {
    const f = await fixture();
    f.write('.gitignore', '/.env\n');
    f.write('.env.example', 'DB_PASSWORD=your-db-password\n');
    // A writer of this host still at work (this test's parent): its lock is no leftover either.
    const lock = `${process.ppid}\n${hostname()}\n0123456789abcdef\n`;
    f.write('.env.lock', lock, 0o644);
    f.write('.env.lock.takeover', lock, 0o644);
    f.write(`.env.lock.${process.ppid}-${hostTag()}.0a1b2c3d`, lock, 0o644);
    for (const id of ['files/env-not-ignored', 'files/modes']) expectPass(await f.check(id));
    // A lock alone is no .env: the project still has none.
    expectFail(await f.check('files/env-missing'), { file: '.env' });
  });

  it("files/env-not-ignored, files/env-missing: dotenvx's .env.keys must be ignored and never committed; dotenv-vault's .env.vault is committed", async () => {
    const f = await fixture();
    f.write('.env.example', 'DB_PASSWORD=your-db-password\n');
    // dotenv-vault's ciphertext, meant for the repository, committed as its tool says.
    f.write('.env.vault', `DOTENV_VAULT_DEVELOPMENT="${rand(64)}"\n`);
    f.commit('add .env.vault');
    expectPass(await f.check('files/env-not-ignored'));
    // dotenvx's private keys: not ignored, then committed, are errors; and no .env of the app.
    const keys = `DOTENV_PRIVATE_KEY="${randomBytes(32).toString('hex')}"\n`;
    f.write('.env.keys', keys, 0o600);
    const open = await f.check('files/env-not-ignored');
    expectFail(open, { file: '.env.keys' });
    expect(open.evidence.map((e) => e.file)).toEqual(['.env.keys']);
    expect(open.evidence[0]?.message).toMatch(/not ignored by git: it holds the private keys/);
    expectFail(await f.check('files/env-missing'), { file: '.env' });
    f.commit('add .env.keys');
    f.write('.gitignore', '/.env.keys\n');
    const tracked = await f.check('files/env-not-ignored');
    expectFail(tracked, { file: '.env.keys' });
    expect(tracked.evidence[0]?.message).toMatch(/tracked by git: its private decryption keys/);
    expect(tracked.fixes.map((x) => x.command)).toContain(
      'git rm --cached -- .env.keys && coffer scan --history',
    );
    expect(JSON.stringify(tracked)).not.toContain(keys.slice(20, 84));
    f.git('rm', '-q', '--cached', '--', '.env.keys');
    expectPass(await f.check('files/env-not-ignored'));
  });

  it('files/env-missing: a .env.example without .env, then a .env', async () => {
    const f = await fixture();
    f.write('.env.example', 'DB_PASSWORD=your-db-password\n');
    const bad = await f.check('files/env-missing');
    expectFail(bad, { file: '.env' });
    expect(bad.fixes[0]?.command).toBe('coffer env pull');
    f.write('.env', `DB_PASSWORD=${rand()}\n`, 0o600);
    expectPass(await f.check('files/env-missing'));
  });

  it('files/env-not-dockerignored: a Dockerfile without .dockerignore, --fix writes one', async () => {
    const f = await fixture();
    f.write('Dockerfile', 'FROM node:20\nCOPY . /app\n');
    const bad = await f.check('files/env-not-dockerignored');
    expectFail(bad, { file: '.dockerignore' });
    expect(await f.fix(bad)).toBe(1);
    expectPass(await f.check('files/env-not-dockerignored'));
    // A negation that lets .env back in is reported again.
    f.write('.dockerignore', '.env*\n!.env\n');
    expectFail(await f.check('files/env-not-dockerignored'));
  });

  it("files/gitignore-entries: the seed's entries, added by --fix", async () => {
    const f = await fixture();
    f.write('.gitignore', 'node_modules\n.env\n');
    const bad = await f.check('files/gitignore-entries');
    expectFail(bad);
    expect(bad.evidence.map((e) => e.message)).toEqual(
      ['.env.local', '.env.*.local', '*.pem', '*.key', 'credentials.json', 'secrets.json'].map(
        (e) => `no entry covers ${e}`,
      ),
    );
    await f.fix(bad);
    expect(readFileSync(join(f.root, '.gitignore'), 'utf8')).toMatch(
      /^node_modules\n\.env\n\.env\.local\n/,
    );
    expectPass(await f.check('files/gitignore-entries'));
  });

  it('files/gitignore-entries: --fix never writes through a .gitignore that is a link', async () => {
    const f = await fixture();
    const outside = mkdtempSync(join(tmpdir(), 'coffer-outside-'));
    writeFileSync(join(outside, 'target.txt'), 'mine\n');
    symlinkSync(join(outside, 'target.txt'), join(f.root, '.gitignore'));
    const bad = await f.check('files/gitignore-entries');
    await expect(f.fix(bad)).rejects.toThrow(/\.gitignore is a symbolic link/);
    expect(readFileSync(join(outside, 'target.txt'), 'utf8')).toBe('mine\n');
  });

  it('files/env-example-values: a real key in .env.example, then placeholders', async () => {
    const f = await fixture();
    f.write('.env.example', `# Stripe\nSTRIPE_API_KEY=${stripeKey()}\nPORT=3000\n`);
    const bad = await f.check('files/env-example-values');
    expectFail(bad, { file: '.env.example' });
    expect(bad.evidence).toHaveLength(1);
    expect(bad.evidence[0]!.line).toBe(2);
    // The seed's own .env.example passes as it is.
    f.write('.env.example', SEED_004_ENV_EXAMPLE);
    expectPass(await f.check('files/env-example-values'));
  });

  it('files/env-example-missing: --fix writes .env.example from coffer.yaml', async () => {
    const f = await fixture();
    f.write('coffer.yaml', MANIFEST);
    const bad = await f.check('files/env-example-missing');
    expectFail(bad, { file: '.env.example' });
    await f.fix(bad);
    const example = readFileSync(join(f.root, '.env.example'), 'utf8');
    expect(example).toContain('DB_PASSWORD=');
    expect(example).toContain('SESSION_KEY=');
    expectPass(await f.check('files/env-example-missing'));
  });

  it('files/secret-files-tracked: a committed private key, then untracked', async () => {
    const f = await fixture();
    f.write(
      'deploy/server.pem',
      `-----BEGIN PRIVATE KEY-----\n${rand(64)}\n-----END PRIVATE KEY-----\n`,
    );
    f.write('deploy/ca.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    f.commit();
    const bad = await f.check('files/secret-files-tracked');
    expectFail(bad, { file: 'deploy/server.pem' });
    expect(bad.evidence).toHaveLength(1); // a certificate is not a key
    f.git('rm', '-q', '--cached', '--', 'deploy/server.pem');
    f.write('.gitignore', '/deploy/server.pem\n');
    f.commit();
    expectPass(await f.check('files/secret-files-tracked'));
  });

  it('files/modes: a .env and the vault file readable by others, --fix chmods them 600', async () => {
    const f = await fixture({ vault: true });
    f.write('.env', `DB_PASSWORD=${rand()}\n`, 0o644);
    const vaultFile = f.vaultFiles[0]!;
    const { chmodSync } = await import('node:fs');
    chmodSync(vaultFile, 0o644);
    const bad = await f.check('files/modes');
    expectFail(bad, { file: '.env' });
    expectFail(bad, { file: vaultFile });
    expect(await f.fix(bad)).toBe(2);
    expect(statSync(join(f.root, '.env')).mode & 0o777).toBe(0o600);
    expectPass(await f.check('files/modes'));
  });
});

describe('files: what a killed coffer left beside the key file', () => {
  it("files/stray-key-copy: a copy of the master key a killed init left, --fix deletes it; not another host's", async () => {
    const f = await fixture();
    expect((await f.check('files/stray-key-copy')).skipped).toBe('no local key file');
    const home = join(f.home, '.coffer');
    mkdirSync(home, { mode: 0o700 });
    writeFileSync(join(home, 'master.key'), `${randomBytes(32).toString('base64')}\n`, {
      mode: 0o600,
    });
    f.vaultFiles.push(join(home, 'vault.db'), join(home, 'master.key'));
    expectPass(await f.check('files/stray-key-copy'));

    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const other = hostTag() === 'ffffffff' ? '00000000' : 'ffffffff';
    const left = join(home, `master.key.${gone}-${hostTag()}.0a1b2c3d.new`);
    const older = join(home, `master.key.${gone}.0a1b2c3d.new`); // an earlier version's name
    const theirs = join(home, `master.key.${gone}-${other}.0a1b2c3d.new`);
    const writing = join(home, `master.key.${process.ppid}-${hostTag()}.0a1b2c3d.new`);
    for (const p of [left, older, theirs, writing]) {
      writeFileSync(p, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    }
    const bad = await f.check('files/stray-key-copy');
    expect(bad.status).toBe('fail');
    expect(bad.severity).toBe('error');
    expect(bad.evidence).toContainEqual({
      file: left,
      message: `${left} is a copy of the master key a coffer init or restore left when it was killed`,
    });
    expectFail(bad, { file: older });
    expect(bad.evidence).toContainEqual({
      file: theirs,
      message: `${theirs} is a copy of the master key made by a coffer init or restore on another host or in another container (the disk is shared)`,
    });
    // An init of this host writing its key now is not reported.
    expect(bad.evidence.map((e) => e.file)).not.toContain(writing);
    expect(bad.fixes.map((x) => [x.description, x.apply !== undefined]).sort()).toEqual(
      [
        [`delete ${left}`, true],
        [`delete ${older}`, true],
        [
          `delete ${theirs} once no coffer init or restore runs on the host or in the container that wrote it`,
          false,
        ],
      ].sort(),
    );
    expect(await f.fix(bad)).toBe(2);
    for (const p of [left, older]) expect(existsSync(p)).toBe(false);
    for (const p of [theirs, writing, join(home, 'master.key')]) expect(existsSync(p)).toBe(true);
    expect((await f.check('files/stray-key-copy')).evidence.map((e) => e.file)).toEqual([theirs]);
    rmSync(theirs);
    expectPass(await f.check('files/stray-key-copy'));
  });
});

describe('files: vault builds and lock pid files a killed coffer left', () => {
  it("files/stray-writer-files: this host's are deleted by --fix once their writer is gone; another host's only shown, with their rm", async () => {
    const f = await fixture();
    const home = join(f.home, '.coffer');
    mkdirSync(home, { mode: 0o700 });
    f.vaultFiles.push(join(home, 'vault.db'), join(home, 'master.key'));
    f.write('.gitignore', '.env*\n');
    expectPass(await f.check('files/stray-writer-files'));

    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const other = hostTag() === 'ffffffff' ? '00000000' : 'ffffffff';
    const build = join(home, `vault.db.${gone}-${hostTag()}.0a1b2c3d.tmp`);
    const buildWal = `${build}-wal`;
    const theirBuild = join(home, `vault.db.${gone}-${other}.0a1b2c3d.tmp`);
    const pidFile = join(home, `vault.db.lock.${gone}-${hostTag()}.0a1b2c3d`);
    const theirPid = join(home, `master.key.lock.takeover.${gone}-${other}.0a1b2c3d`);
    const building = join(home, `vault.db.${process.ppid}-${hostTag()}.0a1b2c3d.tmp`);
    for (const p of [build, buildWal, theirBuild, pidFile, theirPid, building]) {
      writeFileSync(p, 'x', { mode: 0o600 });
    }
    const envPid = `.env.lock.${gone}-${other}.0a1b2c3d`;
    f.write(envPid, `${gone}\nsomewhere\n0123456789abcdef\n`);

    const bad = await f.check('files/stray-writer-files');
    expect(bad.status).toBe('fail');
    expect(bad.severity).toBe('warning');
    expect(bad.evidence).toContainEqual({
      file: build,
      message: `${build} is a vault a coffer init or restore was building, left when it was killed`,
    });
    expectFail(bad, { file: buildWal });
    expect(bad.evidence).toContainEqual({
      file: theirBuild,
      message: `${theirBuild} is a vault a coffer init or restore was building on another host or in another container (the disk is shared)`,
    });
    expect(bad.evidence).toContainEqual({
      file: pidFile,
      message: `${pidFile} is a lock's pid file of a coffer write, left when it was killed`,
    });
    expectFail(bad, { file: theirPid });
    expect(bad.evidence).toContainEqual({
      file: envPid,
      message: `${envPid} is a lock's pid file of a coffer write on another host or in another container (the disk is shared)`,
    });
    // A build of this host still running is not reported.
    expect(bad.evidence.map((e) => e.file)).not.toContain(building);
    expect(bad.fixes.map((x) => [x.command, x.apply !== undefined]).sort()).toEqual(
      [
        [`rm -- ${build}`, true],
        [`rm -- ${buildWal}`, true],
        [`rm -- ${pidFile}`, true],
        [`rm -- ${theirBuild}`, false],
        [`rm -- ${theirPid}`, false],
        [`rm -- ${envPid}`, false],
      ].sort(),
    );
    // --fix deletes only this host's files whose writer is gone.
    expect(await f.fix(bad)).toBe(3);
    for (const p of [build, buildWal, pidFile]) expect(existsSync(p)).toBe(false);
    for (const p of [theirBuild, theirPid, building, join(f.root, envPid)]) {
      expect(existsSync(p)).toBe(true);
    }
    expect((await f.check('files/stray-writer-files')).evidence.map((e) => e.file).sort()).toEqual(
      [envPid, theirBuild, theirPid].sort(),
    );
  });
});

describe('files: .env files that are symbolic links', () => {
  it('files/env-link-outside, files/env-link-writable: a .env linking out of the project is a warning, to a file another user can write an error; a link inside the project is neither', async () => {
    const f = await fixture();
    f.write('.gitignore', '.env*\n');
    f.write('.env.development', `DB_PASSWORD=${rand()}\n`, 0o600);
    symlinkSync('.env.development', join(f.root, '.env')); // inside: the file is checked itself
    for (const id of ['files/env-link-outside', 'files/env-link-writable']) {
      expectPass(await f.check(id));
    }
    const outside = join(f.home, 'shared.env');
    writeFileSync(outside, `DB_PASSWORD=${rand()}\n`, { mode: 0o600 });
    symlinkSync(outside, join(f.root, '.env.local'));
    const out = await f.check('files/env-link-outside');
    expect(out.severity).toBe('warning');
    expect(out.evidence).toEqual([
      {
        file: '.env.local',
        message: '.env.local is a symbolic link to a file outside the project',
      },
    ]);
    expect(JSON.stringify(out)).not.toContain(outside); // where it leads is not said
    expect(out.fixes.map((x) => [x.command, x.apply])).toEqual([
      ['rm -- .env.local && coffer env pull', undefined],
    ]);
    expectPass(await f.check('files/env-link-writable'));
    // Anyone may write the file it leads to (a link through another link too).
    chmodSync(outside, 0o666);
    symlinkSync(join(f.root, '.env.local'), join(f.root, 'prod.env'));
    const writable = await f.check('files/env-link-writable');
    expect(writable.severity).toBe('error');
    expect(writable.evidence.map((e) => e.message)).toEqual([
      '.env.local is a symbolic link to a file another user can write (anyone can write it)',
      'prod.env is a symbolic link to a file another user can write (anyone can write it)',
    ]);
    // Its group may write it, or others its directory (no sticky bit): as writable.
    chmodSync(outside, 0o620);
    expect((await f.check('files/env-link-writable')).evidence[0]?.message).toContain(
      '(its group can write it)',
    );
    chmodSync(outside, 0o600);
    chmodSync(f.home, 0o777);
    try {
      expect((await f.check('files/env-link-writable')).evidence[0]?.message).toContain(
        '(others can write its directory)',
      );
    } finally {
      chmodSync(f.home, 0o755);
    }
    // Replaced by a file of the project's own: both pass.
    rmSync(join(f.root, '.env.local'));
    rmSync(join(f.root, 'prod.env'));
    f.write('.env.local', `DB_PASSWORD=${rand()}\n`, 0o600);
    for (const id of ['files/env-link-outside', 'files/env-link-writable']) {
      expectPass(await f.check(id));
    }
  });
});

describe('files: locks a killed coffer write left', () => {
  it("files/stray-writer-files: a .env lock whose writer is gone is reported and removed by --fix (as a writer takes it over); a live writer's, another host's and a yarn.lock are not removed", async () => {
    const f = await fixture();
    const home = join(f.home, '.coffer');
    mkdirSync(home, { mode: 0o700 });
    f.vaultFiles.push(join(home, 'vault.db'));
    f.write('.gitignore', '.env*\n');
    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const held = (pid: number, host = hostname()) => `${pid}\n${host}\n0123456789abcdef\n`;
    f.write('.env.lock', held(gone));
    f.write('api/.env.local.lock.takeover', held(gone));
    f.write('web/.env.lock', held(process.ppid)); // a write at work
    f.write('shared/.env.lock', held(gone, 'another-host'));
    f.write('yarn.lock', held(gone)); // no lock of coffer's, whatever it holds
    const vaultLock = join(home, 'vault.db.lock');
    writeFileSync(vaultLock, held(gone), { mode: 0o600 });

    const bad = await f.check('files/stray-writer-files');
    expect(bad.evidence.map((e) => [e.file, e.message]).sort()).toEqual(
      [
        ['.env.lock', '.env.lock is the lock of a coffer write, left when it was killed'],
        [
          'api/.env.local.lock.takeover',
          'api/.env.local.lock.takeover is the lock of a coffer write, left when it was killed',
        ],
        [
          'shared/.env.lock',
          'shared/.env.lock is the lock of a coffer write on another host or in another container (the disk is shared)',
        ],
        [vaultLock, `${vaultLock} is the lock of a coffer write, left when it was killed`],
      ].sort(),
    );
    expect(bad.fixes.map((x) => [x.command, x.apply !== undefined]).sort()).toEqual(
      [
        ['rm -- .env.lock', true],
        ['rm -- api/.env.local.lock.takeover', true],
        ['rm -- shared/.env.lock', false],
        [`rm -- ${vaultLock}`, true],
      ].sort(),
    );
    // Before --fix runs, a writer takes the stale vault lock over and holds it: it stays.
    writeFileSync(vaultLock, held(process.ppid));
    expect(await f.fix(bad)).toBe(3);
    expect(existsSync(join(f.root, '.env.lock'))).toBe(false);
    expect(existsSync(join(f.root, 'api/.env.local.lock.takeover'))).toBe(false);
    expect(readFileSync(vaultLock, 'utf8')).toBe(held(process.ppid));
    for (const kept of ['web/.env.lock', 'shared/.env.lock', 'yarn.lock']) {
      expect(existsSync(join(f.root, kept)), kept).toBe(true);
    }
    // No takeover of the fix's own is left behind.
    expect(existsSync(`${vaultLock}.takeover`)).toBe(false);
    expect((await f.check('files/stray-writer-files')).evidence.map((e) => e.file)).toEqual([
      'shared/.env.lock',
    ]);
  });
});

describe('code', () => {
  it('code/secrets-in-files: a key in code, then read from the environment', async () => {
    const f = await fixture();
    f.write('src/pay.js', `const stripe = require('stripe')('${stripeKey()}');\n`);
    const bad = await f.check('code/secrets-in-files');
    expectFail(bad, { file: 'src/pay.js' });
    f.write('src/pay.js', "const stripe = require('stripe')(process.env.STRIPE_API_KEY);\n");
    expectPass(await f.check('code/secrets-in-files'));
  });

  it('code/secrets-in-comments: a key in a comment (and not in code/secrets-in-files)', async () => {
    const f = await fixture();
    f.write(
      'src/pay.py',
      `import os\n# old key: ${stripeKey()}\nKEY = os.environ["STRIPE_API_KEY"]\n`,
    );
    const bad = await f.check('code/secrets-in-comments');
    expectFail(bad, { file: 'src/pay.py' });
    expect(bad.evidence[0]!.line).toBe(2);
    expectPass(await f.check('code/secrets-in-files'));
    f.write('src/pay.py', 'import os\nKEY = os.environ["STRIPE_API_KEY"]\n');
    expectPass(await f.check('code/secrets-in-comments'));
  });

  it('code/stored-values: a stored value in a file names its key path', async () => {
    const f = await fixture({ vault: true });
    const value = `pw-${rand(20)}`;
    await f.vault!.set('project/billing/db_password', 'prod', value, { description: DESC });
    f.write('notes/ops.txt', `the prod database: ${value}\n`);
    const bad = await f.check('code/stored-values');
    expectFail(bad, { file: 'notes/ops.txt', keyPath: 'project/billing/db_password', env: 'prod' });
    expect(bad.fixes[0]!.command).toBe('coffer incident project/billing/db_password --env prod');
    f.write('notes/ops.txt', 'the prod database: see coffer\n');
    expectPass(await f.check('code/stored-values'));
  });

  it('code/history: a key removed from the files but still in a commit (with --history)', async () => {
    const f = await fixture();
    f.write('config.js', `module.exports = { stripe: '${stripeKey()}' };\n`);
    f.commit('add config');
    f.write('config.js', 'module.exports = { stripe: process.env.STRIPE_API_KEY };\n');
    f.commit('read it from the environment');
    expect((await f.check('code/history')).status).toBe('skipped');
    expectPass(await f.check('code/secrets-in-files'));
    const bad = await f.check('code/history', { history: true });
    expectFail(bad, { file: 'config.js' });
    expect(bad.evidence[0]!.commit).toMatch(/^[0-9a-f]{40}$/);
    // History rewritten (the key was rotated first): one clean commit.
    f.git('checkout', '-q', '--orphan', 'clean');
    f.commit('clean');
    f.git('branch', '-q', '-D', 'main');
    expectPass(await f.check('code/history', { history: true }));
  });

  it('code/secrets-in-logs: a key in a log line, then redacted', async () => {
    const f = await fixture();
    f.write(
      'app/client.py',
      'def connect(api_key):\n    logger.info(f"Using API key: {api_key}")\n',
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} references are the fixture
    f.write('app/pay.ts', 'throw new Error(`Invalid key: ${apiKey}`);\n');
    const bad = await f.check('code/secrets-in-logs');
    expectFail(bad, { file: 'app/client.py' });
    expectFail(bad, { file: 'app/pay.ts' });
    f.write(
      'app/client.py',
      'def connect(api_key):\n    logger.info("Using API key: [REDACTED]")\n',
    );
    f.write('app/pay.ts', "throw new Error('Invalid API key provided');\n");
    expectPass(await f.check('code/secrets-in-logs'));
  });
});

describe('deploy', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} references are the fixture
  it('deploy/compose-secrets: a password in environment:, then ${VAR} and env_file', async () => {
    const f = await fixture();
    f.write(
      'docker-compose.prod.yml',
      `services:\n  api:\n    environment:\n      - DATABASE_URL=\${DATABASE_URL}\n      - DB_PASSWORD=${rand(20)}\n      - LOG_LEVEL=info\n  db:\n    environment:\n      POSTGRES_PASSWORD: ${rand(20)}\n`,
    );
    const bad = await f.check('deploy/compose-secrets');
    expect(bad.evidence.map((e) => [e.line, e.message])).toEqual([
      [5, 'DB_PASSWORD has a value written in a compose file'],
      [9, 'POSTGRES_PASSWORD has a value written in a compose file'],
    ]);
    f.write(
      'docker-compose.prod.yml',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} references are the fixture
      'services:\n  api:\n    environment:\n      - DB_PASSWORD=${DB_PASSWORD}\n    env_file:\n      - .env.prod\n  db:\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n',
    );
    expectPass(await f.check('deploy/compose-secrets'));
  });

  it('deploy/dockerfile-secrets: ENV with a value and a copied .env, then neither', async () => {
    const f = await fixture();
    f.write(
      'Dockerfile',
      `FROM node:20\nARG NODE_ENV=production\nENV API_TOKEN=${rand(24)}\nCOPY .env /app/.env\nCOPY . /app\n`,
    );
    const bad = await f.check('deploy/dockerfile-secrets');
    expect(bad.evidence.map((e) => e.line)).toEqual([3, 4]);
    f.write(
      'Dockerfile',
      'FROM node:20\nARG NODE_ENV=production\nCOPY . /app\nCMD ["coffer", "run", "--", "node", "server.js"]\n',
    );
    expectPass(await f.check('deploy/dockerfile-secrets'));
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} references are the fixture
  it('deploy/ci-secrets: a key in a workflow, then ${{ secrets.NAME }}', async () => {
    const f = await fixture();
    f.write(
      '.github/workflows/ci.yml',
      `on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n      OPENAI_API_KEY: sk-${rand(40)}\n      NODE_ENV: test\n    steps:\n      - run: npm test\n`,
    );
    f.write('.gitlab-ci.yml', `variables:\n  SECRET_KEY: ${rand(32)}\n`);
    const bad = await f.check('deploy/ci-secrets');
    expectFail(bad, { file: '.github/workflows/ci.yml', line: 6 } as never);
    expectFail(bad, { file: '.gitlab-ci.yml' });
    f.write(
      '.github/workflows/ci.yml',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} references are the fixture
      'on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n      OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }}\n    steps:\n      - run: npm test\n',
    );
    f.write('.gitlab-ci.yml', 'variables:\n  SECRET_KEY: $SECRET_KEY\n');
    expectPass(await f.check('deploy/ci-secrets'));
  });
});

describe('environments', () => {
  it('environments/shared-values: prod shares a value with dev, then its own', async () => {
    const f = await fixture({ vault: true, project: 'billing' });
    const same = rand();
    await f.vault!.set('project/billing/db_password', 'dev', same, { description: DESC });
    await f.vault!.set('project/billing/db_password', 'prod', same, { description: DESC });
    await f.vault!.set('project/billing/session_key', 'dev', rand(), { description: DESC });
    await f.vault!.set('project/billing/session_key', 'prod', rand(), { description: DESC });
    const bad = await f.check('environments/shared-values');
    expectFail(bad, { keyPath: 'project/billing/db_password', env: 'prod' });
    expect(bad.evidence).toHaveLength(1);
    await f.vault!.set('project/billing/db_password', 'prod', rand(), { description: DESC });
    expectPass(await f.check('environments/shared-values'));
  });

  it('environments/missing-required: a required variable missing in prod, then stored', async () => {
    const f = await fixture({ vault: true });
    f.write('coffer.yaml', MANIFEST);
    for (const env of ['dev', 'prod']) {
      await f.vault!.set('project/billing/db_password', env, rand(), { description: DESC });
    }
    await f.vault!.set('project/billing/session_key', 'dev', rand(), { description: DESC });
    const bad = await f.check('environments/missing-required');
    expectFail(bad, { keyPath: 'project/billing/session_key', env: 'prod' });
    expect(bad.fixes[0]!.command).toBe('coffer setup --env prod');
    await f.vault!.set('project/billing/session_key', 'prod', rand(), { description: DESC });
    expectPass(await f.check('environments/missing-required'));
  });

  it('environments/name-typos: prod and production, then one name', async () => {
    const f = await fixture({ vault: true });
    await f.vault!.set('project/billing/db_password', 'prod', rand(), { description: DESC });
    await f.vault!.set('project/billing/session_key', 'production', rand(), { description: DESC });
    await f.vault!.set('project/billing/session_key', 'dev', rand(), { description: DESC });
    const bad = await f.check('environments/name-typos');
    expectFail(bad, { env: 'production' });
    expect(bad.evidence).toHaveLength(1);
    await f.vault!.set('project/billing/session_key', 'prod', rand(), { description: DESC });
    await f.vault!.delete('project/billing/session_key', 'production');
    expectPass(await f.check('environments/name-typos'));
  });
});

describe('keys', () => {
  it('keys/weak: a short tier-3 key, then a 32-byte one', async () => {
    const f = await fixture({ vault: true });
    await f.vault!.set('project/billing/encryption_key', 'dev', 'abc123def456', {
      description: 'Encrypts stored card tokens at rest',
      metadata: { tier: 3 },
    });
    await f.vault!.set('project/billing/jwt_secret', 'dev', 'aaaaaaaaaaaaaaaaaaaaaaaa', {
      description: 'Signs the billing API session tokens',
      metadata: { tier: 3 },
    });
    const bad = await f.check('keys/weak');
    expect(bad.evidence.map((e) => e.message)).toEqual([
      'project/billing/encryption_key (dev) is shorter than 16 characters',
      'project/billing/jwt_secret (dev) is below 128 bits of entropy',
    ]);
    await f.vault!.set('project/billing/encryption_key', 'dev', randomBytes(32).toString('base64'));
    await f.vault!.set('project/billing/jwt_secret', 'dev', randomBytes(32).toString('hex'));
    expectPass(await f.check('keys/weak'));
  });

  it('keys/tier3-no-backup: a tier-3 key in no backup, then backed up', async () => {
    const f = await fixture({ vault: true });
    await f.vault!.set(
      'project/billing/encryption_key',
      'prod',
      randomBytes(32).toString('base64'),
      {
        description: 'Encrypts stored card tokens at rest',
        metadata: { tier: 3 },
      },
    );
    expectFail(await f.check('keys/tier3-no-backup'), {
      keyPath: 'project/billing/encryption_key',
    });
    // What coffer backup records once the file is written.
    await f.vault!.auditedTransaction('vault.backup', async () => ({
      result: undefined,
      detail: 'test',
    }));
    expectPass(await f.check('keys/tier3-no-backup'));
  });

  it('keys/changed-without-rewrap: a tier-3 key replaced with set, then rotated', async () => {
    const f = await fixture({ vault: true });
    const path = 'project/billing/encryption_key';
    await f.vault!.set(path, 'prod', randomBytes(32).toString('hex'), {
      description: 'Encrypts stored card tokens at rest',
      metadata: { tier: 3 },
    });
    expectPass(await f.check('keys/changed-without-rewrap'));
    await f.vault!.set(path, 'prod', randomBytes(32).toString('hex'));
    expectFail(await f.check('keys/changed-without-rewrap'), { keyPath: path, env: 'prod' });
    await rotateSecret(f.vault!, {
      path,
      env: 'prod',
      graceMs: 0,
      value: randomBytes(32).toString('hex'),
    });
    // A key list (Fernet keys) keeps its old key until the data is rewrapped: finish it.
    await finishRotation(f.vault!, { path, env: 'prod', rewrapped: true });
    expectPass(await f.check('keys/changed-without-rewrap'));
  });
});

describe('access', () => {
  it('access/token-no-expiry: a token without expiry, then one with a ttl', async () => {
    const f = await fixture({ vault: true });
    await createToken(f.vault!, { name: 'deploy', allow: ['project/billing/*'], caps: ['read'] });
    expectFail(await f.check('access/token-no-expiry'), { token: 'deploy' });
    await revokeToken(f.vault!, 'deploy');
    await createToken(f.vault!, {
      name: 'deploy-2',
      allow: ['project/billing/*'],
      caps: ['read'],
      ttl: '90d',
    });
    expectPass(await f.check('access/token-no-expiry'));
  });

  it('access/token-broad: ** and admin, then a narrow token', async () => {
    const f = await fixture({ vault: true });
    await createToken(f.vault!, { name: 'ci', allow: ['**'], caps: ['read'], ttl: '30d' });
    await createToken(f.vault!, {
      name: 'ops',
      allow: ['project/billing/*'],
      caps: ['admin'],
      ttl: '30d',
    });
    const bad = await f.check('access/token-broad');
    expect(bad.evidence.map((e) => e.token)).toEqual(['ci', 'ops']);
    await revokeToken(f.vault!, 'ci');
    await revokeToken(f.vault!, 'ops');
    await createToken(f.vault!, {
      name: 'ci-2',
      allow: ['project/billing/*'],
      caps: ['read'],
      ttl: '30d',
    });
    expectPass(await f.check('access/token-broad'));
  });

  it('access/token-unused: unused for 100 days, then used', async () => {
    const f = await fixture({ vault: true });
    await createToken(
      f.vault!,
      { name: 'old', allow: ['project/billing/*'], caps: ['read'], ttl: '365d' },
      new Date(Date.now() - 100 * DAY),
    );
    expectFail(await f.check('access/token-unused'), { token: 'old' });
    // A request made with it, as coffer serve audits one.
    await f.vault!.withActor('token:old@127.0.0.1').auditedTransaction('list', async () => ({
      result: undefined,
      detail: 'project/billing',
    }));
    expectPass(await f.check('access/token-unused'));
  });

  it('access/token-globs-past-limits: live tokens an earlier coffer made with globs past the limits, then replaced', async () => {
    const f = await fixture({ vault: true });
    // As an earlier coffer stored them: any number of globs, of any length.
    let n = 0;
    const older = (name: string, allow: string[], revokedAt: string | null = null) =>
      insertOlderToken(f.vault!, {
        name,
        allow,
        createdAt: new Date(Date.now() - DAY + 1000 * ++n).toISOString(),
        expiresAt: new Date(Date.now() + 30 * DAY).toISOString(),
        revokedAt,
      });
    await older(
      'ci-wide',
      Array.from({ length: 70 }, (_, i) => `project/p${i}/*`),
    );
    await older('ci-long', [`project/${'a*'.repeat(2000)}/*`]);
    await older('ci-deep', ['project/**/app/x/*']);
    // Hundreds of long globs on a revoked token: not live, not reported.
    await older(
      'old-gone',
      Array.from({ length: 300 }, () => `project/${'b*'.repeat(400)}/*`),
      new Date().toISOString(),
    );
    await createToken(f.vault!, {
      name: 'fine',
      allow: ['project/billing/*'],
      caps: ['read'],
      ttl: '30d',
    });
    const bad = await f.check('access/token-globs-past-limits');
    expectFail(bad, { token: 'ci-wide' });
    expect(bad.evidence.map((e) => e.token)).toEqual(['ci-wide', 'ci-long', 'ci-deep']);
    expect(bad.evidence[0]?.message).toBe(
      'token ci-wide has path globs past the limits new tokens have (70 path globs: a policy holds at most 64): replace it with a token within the limits (at most 64 globs of at most 617 characters)',
    );
    expect(bad.evidence[1]?.message).toContain('is 4010 characters long: a glob is at most 617');
    expect(bad.evidence[2]?.message).toContain('4 segments besides **');
    expect(bad.fixes.map((x) => x.command)).toContain(
      'coffer token create --name ci-wide-2 --allow "project/APP/*" --cap read --ttl 90d && coffer token revoke ci-wide',
    );
    for (const name of ['ci-wide', 'ci-long', 'ci-deep']) await revokeToken(f.vault!, name);
    expectPass(await f.check('access/token-globs-past-limits'));
  });

  it('access/token-dead: a revoked token still in .env, then removed', async () => {
    const f = await fixture({ vault: true });
    const { token } = await createToken(f.vault!, {
      name: 'laptop',
      allow: ['project/billing/*'],
      caps: ['read'],
      ttl: '30d',
    });
    f.write('.env', `COFFER_URL=https://coffer.example.org\nCOFFER_TOKEN=${token}\n`, 0o600);
    expectPass(await f.check('access/token-dead'));
    await revokeToken(f.vault!, 'laptop');
    expectFail(await f.check('access/token-dead'), { file: '.env', token: 'laptop' });
    f.write('.env', 'COFFER_URL=https://coffer.example.org\n', 0o600);
    expectPass(await f.check('access/token-dead'));
  });

  it('access/mcp-config: coffer mcp without --allow and with --reveal allow, then limited', async () => {
    const f = await fixture();
    const config = (args: string[]) =>
      JSON.stringify(
        { mcpServers: { coffer: { command: '/usr/local/bin/coffer', args } } },
        null,
        2,
      );
    f.write('.mcp.json', config(['mcp', '--reveal', 'allow']));
    const bad = await f.check('access/mcp-config');
    expect(bad.evidence.map((e) => [e.file, e.message])).toEqual([
      [
        '.mcp.json',
        'MCP server coffer (Claude Code) runs coffer mcp with --reveal allow and no --allow',
      ],
    ]);
    expect(bad.fixes.map((x) => x.command)).toEqual(['coffer agent setup --client claude-code']);
    f.write('.mcp.json', config(['mcp', '--allow', 'project/billing/*', '--reveal', 'never']));
    expectPass(await f.check('access/mcp-config'));
  });

  it('access/mcp-config, access/agent-plaintext, access/agent-env-read: a configuration that does not parse is incomplete, named with where it breaks, never quoted', async () => {
    const f = await fixture();
    const token = `coffer_0123456789abcdef_${rand(43)}`;
    // Broken where the token is: a JSON parser's own message would quote it.
    f.write(
      '.mcp.json',
      `{\n  "mcpServers": {\n    "coffer": { "command": "coffer", "args": ["mcp"], "env": { "COFFER_TOKEN": ${token} } }\n  }\n}\n`,
    );
    for (const id of ['access/mcp-config', 'access/agent-plaintext']) {
      const o = await f.check(id);
      expect(o.status, id).toBe('incomplete');
      expect(o.unread, id).toEqual([
        {
          file: '.mcp.json',
          reason: 'not valid JSON (line 3, column 80)',
          message: 'could not read .mcp.json: not valid JSON (line 3, column 80)',
        },
      ]);
      expect(JSON.stringify(o), id).not.toContain(token.slice(24));
    }
    // Settings that do not parse may hold the deny rule: not read, not "missing".
    f.write('.claude/settings.json', '{"permissions": {"deny": ["Read(./.env*)"],}}\n');
    const env = await f.check('access/agent-env-read');
    expect(env.status).toBe('incomplete');
    expect(env.unread.map((u) => [u.file, u.reason])).toEqual([
      ['.claude/settings.json', 'not valid JSON (line 1, column 44)'],
    ]);
    // VS Code's mcp.json is JSONC, as VS Code reads it: comments and trailing commas parse.
    f.remove('.mcp.json');
    f.remove('.claude/settings.json');
    f.write(
      '.vscode/mcp.json',
      '{\n  // coffer for the agent\n  "servers": {\n    "coffer": { "command": "coffer", "args": ["mcp",], },\n  },\n}\n',
    );
    const vscode = await f.check('access/mcp-config');
    expect(vscode.unread).toEqual([]);
    expect(vscode.evidence.map((e) => [e.file, e.message])).toEqual([
      ['.vscode/mcp.json', 'MCP server coffer (VS Code) runs coffer mcp with no --allow'],
    ]);
  });

  it("access/mcp-config: Codex's config.toml is read as TOML (dotted keys, multi-line arrays, comments); one that does not parse is incomplete, never quoted", async () => {
    const f = await fixture();
    // What the line-by-line reading missed: the args array over several lines, the server
    // given by dotted keys, a comment after a value.
    f.write(
      '.codex/config.toml',
      'model = "o4"\n\n[mcp_servers.coffer]\ncommand = "coffer" # the vault\nargs = [\n  "mcp",\n  "--reveal",\n  "allow",\n]\n\n[mcp_servers]\nother.command = "npx"\n',
    );
    const bad = await f.check('access/mcp-config');
    expect(bad.unread).toEqual([]);
    expect(bad.evidence.map((e) => [e.file, e.message])).toEqual([
      [
        '.codex/config.toml',
        'MCP server coffer (Codex) runs coffer mcp with --reveal allow and no --allow',
      ],
    ]);
    f.write(
      '.codex/config.toml',
      'mcp_servers.coffer.command = "coffer"\nmcp_servers.coffer.args = ["mcp", "--allow", "project/billing/*", "--reveal", "never"]\n',
    );
    expectPass(await f.check('access/mcp-config'));
    const token = `coffer_0123456789abcdef_${rand(43)}`;
    f.write(
      '.codex/config.toml',
      `[mcp_servers.coffer]\ncommand = "coffer"\nargs = ["mcp"]\nenv = { COFFER_TOKEN = ${token} }\n`,
    );
    const broken = await f.check('access/mcp-config');
    expect(broken.status).toBe('incomplete');
    expect(broken.unread.map((u) => [u.file, u.reason])).toEqual([
      ['.codex/config.toml', 'not valid TOML (line 4, column 24)'],
    ]);
    expect(JSON.stringify(broken)).not.toContain(token.slice(24));
  });

  it('access/agent-plaintext: a key and a coffer token in MCP env blocks, then none', async () => {
    const f = await fixture();
    f.write(
      '.cursor/mcp.json',
      JSON.stringify(
        {
          mcpServers: {
            openai: {
              command: 'npx',
              args: ['openai-mcp'],
              env: { OPENAI_API_KEY: `sk-proj-${rand(48)}` },
            },
            coffer: {
              command: 'coffer',
              args: ['mcp', '--allow', 'project/x/*'],
              env: { COFFER_TOKEN: `coffer_${'a'.repeat(16)}_${rand(43)}` },
            },
          },
        },
        null,
        2,
      ),
    );
    const bad = await f.check('access/agent-plaintext');
    expect(bad.evidence.length).toBeGreaterThanOrEqual(2);
    expectFail(bad, { file: '.cursor/mcp.json' });
    f.write(
      '.cursor/mcp.json',
      JSON.stringify({
        mcpServers: { coffer: { command: 'coffer', args: ['mcp', '--allow', 'project/x/*'] } },
      }),
    );
    expectPass(await f.check('access/agent-plaintext'));
    // Codex's config.toml: an env table, and a key given as a dotted key.
    f.write(
      '.codex/config.toml',
      `[mcp_servers.coffer]\ncommand = "coffer"\nargs = ["mcp"]\n\n[mcp_servers.coffer.env]\nCOFFER_TOKEN = "coffer_${'b'.repeat(16)}_${rand(43)}"\n\n[mcp_servers.openai]\ncommand = "npx"\nenv.OPENAI_API_KEY = "sk-proj-${rand(48)}"\n`,
    );
    const toml = await f.check('access/agent-plaintext');
    expect(toml.evidence.filter((e) => e.file === '.codex/config.toml').length).toBe(2);
    f.write('.codex/config.toml', '[mcp_servers.coffer]\ncommand = "coffer"\nargs = ["mcp"]\n');
    expectPass(await f.check('access/agent-plaintext'));
  });

  it('access/agent-env-read: Claude Code settings without a .env deny rule, then with one', async () => {
    const f = await fixture();
    f.write(
      '.claude/settings.json',
      JSON.stringify({ permissions: { allow: ['Read(./.env)', 'Bash(npm test)'] } }),
    );
    const bad = await f.check('access/agent-env-read');
    expect(bad.evidence.map((e) => e.message)).toEqual([
      '.claude/settings.json allows Read(./.env)',
      'Claude Code may read .env files: no Read(./.env*) deny rule',
    ]);
    f.write(
      '.claude/settings.json',
      JSON.stringify({
        permissions: { allow: ['Bash(npm test)'], deny: ['Read(./.env)', 'Read(./.env.*)'] },
      }),
    );
    expectPass(await f.check('access/agent-env-read'));
  });
});

describe('lifecycle', () => {
  it('lifecycle/rotation-overdue: overdue on a 1d policy, then rotated', async () => {
    const f = await fixture({ vault: true });
    const path = 'project/billing/db_password';
    await f.vault!.set(path, 'prod', rand(), { description: DESC, metadata: { rotation: '1d' } });
    const later = new Date(Date.now() + 3 * DAY);
    const bad = await f.check('lifecycle/rotation-overdue', { now: later });
    expectFail(bad, { keyPath: path, env: 'prod' });
    expect(bad.fixes[0]!.command).toBe(`coffer rotate ${path} --env prod`);
    await rotateSecret(f.vault!, { path, env: 'prod', graceMs: 0, value: rand() });
    expectPass(await f.check('lifecycle/rotation-overdue'));
  });

  it('lifecycle/open-incidents: an open incident, then closed', async () => {
    const f = await fixture({ vault: true });
    const path = 'project/billing/db_password';
    await f.vault!.set(path, 'prod', rand(), { description: DESC });
    const { incident } = await openIncident(f.vault!, { path, env: 'prod', where: 'a CI log' });
    expectFail(await f.check('lifecycle/open-incidents'), { keyPath: path, env: 'prod' });
    await closeIncident(f.vault!, incident.id);
    expectPass(await f.check('lifecycle/open-incidents'));
  });

  it('lifecycle/pre-commit-hook: no hook, --fix installs coffer scan --staged', async () => {
    const f = await fixture();
    const bad = await f.check('lifecycle/pre-commit-hook');
    expectFail(bad);
    expect(await f.fix(bad)).toBe(1);
    expect(readFileSync(join(f.root, '.git/hooks/pre-commit'), 'utf8')).toContain(
      "'coffer' scan --staged",
    );
    expectPass(await f.check('lifecycle/pre-commit-hook'));
  });

  it('lifecycle/baseline-stale: an entry for a file that is gone, then rewritten', async () => {
    const f = await fixture();
    const stale = updateBaseline(
      undefined,
      [
        {
          ruleId: 'stripe-secret-key',
          description: 'Stripe',
          file: 'old.js',
          line: 1,
          column: 1,
          endColumn: 30,
          masked: 'sk_live_****',
          hashedSecret: 'a'.repeat(40),
          validated: true,
        },
      ],
      new Set(['old.js']),
      new Date(),
    );
    f.write('.secrets.baseline', formatBaseline(stale));
    f.write('app.js', 'console.log("hello");\n');
    expectFail(await f.check('lifecycle/baseline-stale'), { file: '.secrets.baseline' });
    f.write(
      '.secrets.baseline',
      formatBaseline(updateBaseline(stale, [], new Set(['old.js']), new Date())),
    );
    expectPass(await f.check('lifecycle/baseline-stale'));
  });

  it('lifecycle/audit-verify: an edited audit record, then acknowledged', async () => {
    const f = await fixture({ vault: true });
    await f.vault!.set('project/billing/db_password', 'prod', rand(), { description: DESC });
    expectPass(await f.check('lifecycle/audit-verify'));
    const db = new Database(f.vaultFiles[0]!);
    db.prepare('DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)').run();
    db.close();
    expectFail(await f.check('lifecycle/audit-verify'));
    await acknowledgeAuditBreak(f.vault!, 'restored from the ops backup after a disk error');
    expectPass(await f.check('lifecycle/audit-verify'));
  });

  it('lifecycle/backup: never backed up, then backed up', async () => {
    const f = await fixture({ vault: true });
    await f.vault!.set('project/billing/db_password', 'prod', rand(), { description: DESC });
    expectFail(await f.check('lifecycle/backup'));
    await f.vault!.auditedTransaction('vault.backup', async () => ({
      result: undefined,
      detail: 'test',
    }));
    expectPass(await f.check('lifecycle/backup'));
    expectFail(await f.check('lifecycle/backup', { now: new Date(Date.now() + 40 * DAY) }));
  });

  it('lifecycle/backup, access/token-unused: a backup or a use an edited audit record claims counts for nothing', async () => {
    const f = await fixture({ vault: true });
    await f.vault!.set('project/billing/db_password', 'prod', rand(), { description: DESC });
    const old = new Date(Date.now() - 100 * DAY);
    await createToken(
      f.vault!,
      { name: 'old', allow: ['project/billing/*'], caps: ['read'], ttl: '365d' },
      old,
    );
    expectFail(await f.check('lifecycle/backup'));
    expectFail(await f.check('access/token-unused'), { token: 'old' });
    // Record 2 edited in place, its hash kept: a backup today, by the token.
    const db = new Database(f.vaultFiles[0]!);
    db.prepare(
      "UPDATE audit SET action = 'vault.backup', outcome = 'ok', actor = 'token:old@127.0.0.1', ts = ? WHERE seq = 2",
    ).run(new Date().toISOString());
    db.close();
    for (const id of ['lifecycle/backup', 'access/token-unused']) {
      expect(await f.check(id)).toMatchObject({
        status: 'skipped',
        skipped: expect.stringContaining('the audit log does not verify'),
      });
    }
    // Acknowledged, the break vouches for nothing before it: the record is still not used.
    await acknowledgeAuditBreak(f.vault!, 'record 2 edited, checked against the backup');
    expectFail(await f.check('lifecycle/backup'));
    expectFail(await f.check('access/token-unused'), { token: 'old' });
  });
});
