/**
 * The one .env writer (core/dotenv/write.ts) through the built binary: links, special files,
 * stdout, and a kill in the middle of a write.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import dotenv from 'dotenv';
import { describe, expect, it } from 'vitest';
import { finished, makeHome, spawnCoffer } from './harness.js';

function project() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const app = join(h.home, 'app');
  mkdirSync(app);
  const r = h.run(
    ['set', 'project/shop/api_key', '-d', 'API key the shop calls the payment provider with'],
    {
      input: 'api-key-value-123',
    },
  );
  expect(r.code, r.stderr).toBe(0);
  return { h, app };
}

describe('.env files written by coffer', () => {
  it('a symlinked .env: the target is updated and the link kept', () => {
    const { h, app } = project();
    const target = join(h.home, 'dotfiles.env');
    writeFileSync(target, 'KEEP=1\n');
    symlinkSync(target, join(app, '.env'));
    const r = h.run(['env', 'pull', '--project', 'shop'], { cwd: app });
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(join(app, '.env')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(app, '.env'))).toBe(target);
    expect(dotenv.parse(readFileSync(target))).toEqual({ KEEP: '1', API_KEY: 'api-key-value-123' });
    expect(statSync(target).mode & 0o777).toBe(0o600);
  });

  it('a link to a device (/dev/stdout-like) is refused and nothing is written', () => {
    const { h, app } = project();
    symlinkSync('/dev/null', join(app, '.env'));
    const r = h.run(['env', 'pull', '--project', 'shop'], { cwd: app });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('a link to a device');
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    const set = h.run(['set', 'project/shop/api_key', '--dotenv', '.env'], {
      cwd: app,
      input: 'v2-value-456',
    });
    expect(set.stderr).toContain('a link to a device');
    expect(set.stderr).not.toContain('v2-value-456');
  });

  it('"-" is stdout for env pull, and never a file named "-"', () => {
    const { h, app } = project();
    const r = h.run(['env', 'pull', '--project', 'shop', '--file', '-'], { cwd: app });
    expect(r.code, r.stderr).toBe(0);
    expect(dotenv.parse(r.stdout)).toEqual({ API_KEY: 'api-key-value-123' });
    const set = h.run(['set', 'project/shop/api_key', '--dotenv', '-'], {
      cwd: app,
      input: 'v3-value-789',
    });
    expect(set.code).toBe(2);
    expect(existsSync(join(app, '-'))).toBe(false);
  });

  it('writers at the same time each keep their variable (the file is locked while changed)', async () => {
    const { h } = project();
    const file = join(h.home, 'race3.env');
    const n = 8;
    const runs = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        finished(
          spawnCoffer(
            [
              'set',
              `project/race/key_${i}`,
              '-d',
              `Signing key number ${i} of the race service`,
              '--dotenv',
              file,
            ],
            { env: h.env, input: `value-${i}` },
          ),
        ),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const parsed = dotenv.parse(readFileSync(file));
    for (let i = 0; i < n; i++) expect(parsed[`KEY_${i}`]).toBe(`value-${i}`);
    expect(existsSync(`${file}.lock`)).toBe(false);
    // A lock left by a process that no longer runs is taken over, not waited on.
    writeFileSync(`${file}.lock`, '2147483646');
    const after = h.run(
      ['set', 'project/race/key_x', '-d', 'Signing key x of the race service', '--dotenv', file],
      {
        input: 'value-x',
      },
    );
    expect(after.code, after.stderr).toBe(0);
    expect(dotenv.parse(readFileSync(file)).KEY_X).toBe('value-x');
  });

  it("writers that all find a dead writer's lock take it over once, and keep every line", async () => {
    const { h } = project();
    const index = resolve(import.meta.dirname, '../../dist/index.js');
    const n = 10;
    for (let round = 0; round < 8; round++) {
      const file = join(h.home, `takeover-${round}.env`);
      writeFileSync(`${file}.lock`, '2147483646'); // a pid that runs nowhere
      const runs = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          finished(
            spawn(
              process.execPath,
              [
                '--input-type=module',
                '-e',
                `const { writeDotenv } = await import(${JSON.stringify(index)});
                 writeDotenv(${JSON.stringify(file)}, { KEY_${i}: 'value-${i}' });`,
              ],
              { stdio: ['ignore', 'pipe', 'pipe'] },
            ),
          ),
        ),
      );
      for (const r of runs) expect(r.code, r.stderr).toBe(0);
      const parsed = dotenv.parse(readFileSync(file));
      expect(Object.keys(parsed).length, `round ${round}`).toBe(n);
      expect(existsSync(`${file}.lock`)).toBe(false);
      expect(existsSync(`${file}.lock.takeover`)).toBe(false);
    }
  });

  it('a kill during a write leaves the old file or the new one, never a part', async () => {
    const { h } = project();
    const file = join(h.home, 'race.env');
    const a = { ONE: 'a'.repeat(40_000), TWO: 'first', THREE: 'p' };
    const b = { ONE: 'b'.repeat(60_000), TWO: 'second', THREE: 'x y z' };
    const index = resolve(import.meta.dirname, '../../dist/index.js');
    const script = `
      const { writeDotenv } = await import(${JSON.stringify(index)});
      const maps = [${JSON.stringify(a)}, ${JSON.stringify(b)}];
      writeDotenv(${JSON.stringify(file)}, maps[0]);
      process.stdout.write('ready\\n');
      for (let i = 1; ; i++) writeDotenv(${JSON.stringify(file)}, maps[i % 2]);
    `;
    let kills = 0;
    for (let round = 0; round < 15; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((res) => child.stdout.once('data', () => res()));
      await new Promise((res) => setTimeout(res, Math.random() * 30));
      child.kill('SIGKILL');
      await new Promise((res) => child.once('exit', res));
      kills++;
      const parsed = dotenv.parse(readFileSync(file));
      expect([a, b]).toContainEqual(parsed);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    expect(kills).toBe(15);
  });
});
