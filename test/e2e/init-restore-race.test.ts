/**
 * `coffer init` and `coffer backup restore` run several at once on one COFFER_HOME: exactly one
 * makes the vault, the others exit 5 saying a vault already exists, and none of them removes
 * or truncates the vault the winner made (the vault opens with the winner's key). A restore
 * SIGKILLed at each of its steps (its private vault file appears, its key file appears, the
 * vault appears) is finished by running it again. Bounded rounds, no timing assumptions: the
 * kills are triggered by what appears on disk.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finished, makeHome, type RunResult, spawnCoffer } from './harness.js';

const RACERS = 4;
const ROUNDS = 2;
const PASS = 'e2e race passphrase';
const DESCRIPTION = 'Database URL of the billing service';

/** Runs `count` copies of a command at once, each with its own extra environment. */
async function together(
  count: number,
  args: string[],
  env: (i: number) => Record<string, string>,
  cwd?: string,
): Promise<RunResult[]> {
  const children = Array.from({ length: count }, (_, i) =>
    spawnCoffer(args, { env: env(i), ...(cwd !== undefined ? { cwd } : {}) }),
  );
  return Promise.all(children.map(finished));
}

/** The one run that succeeded; every other one was refused because the vault exists. */
function oneWinner(results: RunResult[], refusal = /already exists/): number {
  const winners = results.flatMap((r, i) => (r.code === 0 ? [i] : []));
  expect(winners, results.map((r) => r.stderr).join('\n')).toHaveLength(1);
  for (const [i, r] of results.entries()) {
    if (i === winners[0]) continue;
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toMatch(refusal);
  }
  return winners[0]!;
}

/** A home holding a backup (with its master key) of a vault with one secret, and a fresh target. */
function withBackup() {
  const h = makeHome();
  const env = { ...h.env, COFFER_BACKUP_PASSPHRASE: PASS };
  const run = (args: string[], input = '', extra: Record<string, string> = {}) =>
    h.run(args, { env: { ...env, ...extra }, input, cwd: h.home });
  expect(run(['init']).code).toBe(0);
  const value = `postgres://billing:${randomBytes(8).toString('hex')}@db/0`;
  expect(run(['set', 'project/billing/db_url', '-d', DESCRIPTION], value).code).toBe(0);
  const b = run(['backup', '-o', 'kit.age', '--work-factor', '14', '--include-master-key']);
  expect(b.code, b.stderr).toBe(0);
  let n = 0;
  /** A new, empty COFFER_HOME to restore into. */
  const target = () => {
    const home = join(h.home, `target${n++}`);
    return { home, env: { ...env, COFFER_HOME: home } };
  };
  return { ...h, env, value, target };
}

describe('init and restore run at once', { timeout: 300_000 }, () => {
  it('of several inits with their own keys, one makes the vault and it opens with its key', async () => {
    const h = makeHome();
    for (let round = 0; round < ROUNDS; round++) {
      const home = join(h.home, `vault${round}`);
      const keys = Array.from({ length: RACERS }, () => randomBytes(32).toString('base64'));
      const results = await together(RACERS, ['init', '--json'], (i) => ({
        ...h.env,
        COFFER_HOME: home,
        COFFER_MASTER_KEY: keys[i]!,
      }));
      const w = oneWinner(results);
      const use = (key: string, args: string[], input = '') =>
        h.run(args, { env: { COFFER_HOME: home, COFFER_MASTER_KEY: key }, input });
      const set = use(keys[w]!, ['set', 'project/p/k', '-d', DESCRIPTION], 'a-value-of-the-test');
      expect(set.code, set.stderr).toBe(0);
      expect(use(keys[w]!, ['get', 'project/p/k']).stdout).toBe('a-value-of-the-test\n');
      expect(use(keys[(w + 1) % RACERS]!, ['get', 'project/p/k']).code).not.toBe(0);
      expect(readdirSync(home).filter((f) => f.includes('.tmp'))).toEqual([]);
    }
  });

  it('of several inits making a key file, one makes the vault and the key file opens it', async () => {
    const h = makeHome();
    for (let round = 0; round < ROUNDS; round++) {
      const home = join(h.home, `vault${round}`);
      const results = await together(RACERS, ['init', '--json'], () => ({
        ...h.env,
        COFFER_HOME: home,
      }));
      oneWinner(results);
      const env = { COFFER_HOME: home };
      const set = h.run(['set', 'project/p/k', '-d', DESCRIPTION], { env, input: 'v-of-the-test' });
      expect(set.code, set.stderr).toBe(0);
      expect(h.run(['get', 'project/p/k'], { env }).stdout).toBe('v-of-the-test\n');
    }
  });

  it('of several restores of one backup, one restores it and the vault stays whole', async () => {
    const h = withBackup();
    for (let round = 0; round < ROUNDS; round++) {
      const t = h.target();
      const results = await together(RACERS, ['backup', 'restore', 'kit.age'], () => t.env, h.home);
      oneWinner(results);
      expect(statSync(join(t.home, 'vault.db')).size).toBeGreaterThan(0);
      const get = h.run(['get', 'project/billing/db_url'], { env: t.env });
      expect(get.code, get.stderr).toBe(0);
      expect(get.stdout).toBe(`${h.value}\n`);
    }
  });

  it('an init and a restore at once: one wins, the other leaves its vault alone', async () => {
    const h = withBackup();
    for (let round = 0; round < ROUNDS; round++) {
      const t = h.target();
      const [init, restore] = await Promise.all([
        finished(spawnCoffer(['init'], { env: t.env, cwd: h.home })),
        finished(spawnCoffer(['backup', 'restore', 'kit.age'], { env: t.env, cwd: h.home })),
      ]);
      // The restore that comes second finds the init's key file, holding another key.
      oneWinner([init!, restore!], /already exists|holds another key/);
      // Either vault opens with the key file there.
      const list = h.run(['list'], { env: t.env });
      expect(list.code, list.stderr).toBe(0);
      if (restore!.code === 0) expect(list.stdout).toContain('project/billing/db_url');
    }
  });
});

describe('a restore killed at each step', { timeout: 300_000 }, () => {
  /** What a step leaves in the target home, seen as it appears there. */
  const steps: Record<string, (names: string[]) => boolean> = {
    'its private vault file appears': (n) =>
      n.some((f) => /^vault\.db\.\d+-[0-9a-f]{8}(?:-\d+)?\.[0-9a-f]{8}\.tmp$/.test(f)),
    'its key is being written': (n) => n.some((f) => f.startsWith('master.key.')),
    'its key file appears': (n) => n.includes('master.key'),
    'the vault appears': (n) => n.includes('vault.db'),
  };

  for (const [step, seen] of Object.entries(steps)) {
    it(`is finished by running it again (killed when ${step})`, async () => {
      const h = withBackup();
      const t = h.target();
      const child = spawnCoffer(['backup', 'restore', 'kit.age'], { env: t.env, cwd: h.home });
      const done = finished(child);
      let exited = false;
      void done.then(() => {
        exited = true;
      });
      // Polls the directory until the step shows, then kills at once. Whenever the vault is
      // there its key file is too: a kill leaves no vault without its key.
      while (!exited) {
        const names = existsSync(t.home) ? readdirSync(t.home) : [];
        if (names.includes('vault.db')) expect(names).toContain('master.key');
        if (seen(names)) {
          child.kill('SIGKILL');
          break;
        }
        await new Promise((r) => setImmediate(r));
      }
      await done;
      // Run again: it restores, or (killed after the vault was published) says it is there.
      const again = h.run(['backup', 'restore', 'kit.age'], { env: t.env, cwd: h.home });
      if (again.code !== 0) {
        expect(again.code, again.stderr).toBe(5);
        expect(again.stderr).toContain('already exists');
      }
      const get = h.run(['get', 'project/billing/db_url'], { env: t.env });
      expect(get.code, get.stderr).toBe(0);
      expect(get.stdout).toBe(`${h.value}\n`);
    });
  }
});
