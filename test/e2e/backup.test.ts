/**
 * `coffer backup`, `backup verify` and `backup restore` through the built binary: the file is
 * 0600 and opens with `age -d` (where Debian's `age` and `script` are installed), the
 * refusals exit with clear errors, and a backup SIGKILLed at any moment leaves either no file
 * or a complete one, never a partial one.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { populateVault } from '../helpers/vault.js';
import { finished, makeHome, spawnCoffer } from './harness.js';

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

  it('with --include-master-key restores a self-contained vault, key file included', () => {
    const h = setup();
    expect(h.run(['backup', '-o', 'kit.age', ...FAST, '--include-master-key']).code).toBe(0);
    const target = join(h.home, 'kit', 'vault.db');
    const r = h.run(['backup', 'restore', 'kit.age', '--vault', target]);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(join(h.home, 'kit', 'master.key')).mode & 0o777).toBe(0o600);
    const [path, value] = [...h.values][0]!;
    expect(h.run(['--vault', target, 'get', path]).stdout).toBe(`${value}\n`);
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

    for (const r of [wrong, f, c, busy]) expect(r.stderr).not.toMatch(/\n\s+at /);
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
