/**
 * Crash safety: `coffer set` and `coffer key rotate` are SIGKILLed at random moments. After
 * every kill the vault verifies, every write acknowledged before the kill is readable, and a
 * rotation killed midway completes when run again.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initVault, Vault } from '../../src/core/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { populateVault } from '../helpers/vault.js';
import { finished, makeHome, type RunResult, spawnCoffer } from './harness.js';

const SET_KILLS = 20;
const ROTATE_KILLS = 10;
/** Versions in the rotated vault and the rotation's batch size: about 120 batches to kill between. */
const ROTATE_VERSIONS = 3000;
const ROTATE_BATCH = '25';
/**
 * The kill loops do a bounded amount of work (each round verifies every version), which on a
 * machine busy with other work can take minutes: their limit only catches a hang.
 */
const LOOP_TIMEOUT_MS = 900_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the binary, SIGKILLs it after `delayMs` unless it finished first. */
async function killAfter(
  args: string[],
  env: Record<string, string>,
  input: string,
  delayMs: number,
): Promise<RunResult> {
  const child = spawnCoffer(args, { env, input });
  const done = finished(child);
  await Promise.race([done, sleep(delayMs)]);
  child.kill('SIGKILL');
  return done;
}

/** How long the command takes when nobody kills it, in ms (the machine's speed right now). */
async function timeRun(
  args: string[],
  env: Record<string, string>,
  input: string,
): Promise<number> {
  const t0 = performance.now();
  const r = await finished(spawnCoffer(args, { env, input }));
  expect(r.code, r.stderr).toBe(0);
  return performance.now() - t0;
}

/**
 * The i-th kill delay: a share of the command's measured duration, spread from `from` to `to`
 * times it in a fixed order, so kills land early, midway and after the end on a fast or a
 * loaded machine alike (no absolute timing).
 */
function killDelay(i: number, durationMs: number, from: number, to: number): number {
  const share = from + ((to - from) * ((i * 7) % 10)) / 9;
  return Math.max(1, durationMs * share);
}

/** Reads every "path@version" through the library (same file, no process spawn per value). */
async function expectReadable(
  file: string,
  masterKey: Uint8Array,
  values: Map<string, string>,
): Promise<void> {
  const vault = new Vault(openSqliteStorage(file), masterKey, { actor: 'test:reader' });
  try {
    for (const [key, v] of values) {
      const [p, version] = key.split('@') as [string, string];
      expect((await vault.get(p, 'dev', { version: Number(version) })).value).toBe(v);
    }
  } finally {
    vault.close();
    await vault.storage.close();
  }
}

describe('crash safety under SIGKILL', { timeout: LOOP_TIMEOUT_MS }, () => {
  it(`${SET_KILLS} killed sets: the vault verifies and acknowledged writes survive`, async () => {
    const h = makeHome();
    const masterKeyBytes = randomBytes(32);
    const env = { ...h.env, COFFER_MASTER_KEY: masterKeyBytes.toString('base64') };
    const file = join(h.env.COFFER_HOME!, 'vault.db');
    expect(h.run(['init'], { env }).code).toBe(0);
    const acked = new Map<string, string>(); // "path@version" -> value
    let killedMidway = 0;
    const setArgs = ['set', 'project/crash/timing', '-d', 'Crash test secret for the billing job'];
    let duration = await timeRun(setArgs, env, 'timing-run');
    for (let i = 0; i < SET_KILLS; i++) {
      const path = `project/crash/key_${i % 5}`;
      const value = `crash-value-${i}-${randomBytes(6).toString('hex')}`;
      const t0 = performance.now();
      const r = await killAfter(
        ['set', path, '-d', 'Crash test secret for the billing job', '--json'],
        env,
        value,
        killDelay(i, duration, 0.3, 1.8),
      );
      if (r.code === 0) {
        acked.set(`${path}@${JSON.parse(r.stdout).version}`, value);
        // Follow the machine's current speed (a run that finished tells how long one takes).
        duration = (duration + (performance.now() - t0)) / 2;
      } else killedMidway++;
      const verify = h.run(['verify', '--all', '--json'], { env });
      expect(verify.code, verify.stderr).toBe(0);
      await expectReadable(file, masterKeyBytes, acked);
    }
    expect(h.run(['audit', 'verify'], { env }).code).toBe(0);
    // Both outcomes must have happened, or the test did not test crashes.
    expect(killedMidway).toBeGreaterThan(0);
    expect(acked.size).toBeGreaterThan(0);
  });

  it(`${ROTATE_KILLS} killed key rotations: each completes when run again`, async () => {
    const h = makeHome();
    const masterKey = randomBytes(32);
    const env = { ...h.env, COFFER_MASTER_KEY: masterKey.toString('base64') };
    const file = join(h.env.COFFER_HOME!, 'vault.db');
    // Enough versions in small batches that a rotation takes long enough to be killed midway.
    const storage = openSqliteStorage(file, { create: true });
    await initVault(storage, { masterKey, keySource: 'key', actor: 'test' });
    await storage.close();
    const expected = await populateVault(file, masterKey, ROTATE_VERSIONS);

    // One whole rotation, unkilled, tells how long one takes here and now.
    const duration = await timeRun(['key', 'rotate', '--batch-size', ROTATE_BATCH], env, '');
    let midway = 0;
    for (let i = 0; i < ROTATE_KILLS; i++) {
      await killAfter(
        ['key', 'rotate', '--batch-size', ROTATE_BATCH],
        env,
        '',
        killDelay(i, duration, 0.05, 0.9),
      );
      const status = JSON.parse(h.run(['key', 'status', '--json'], { env }).stdout);
      if (status.rotationInProgress) midway++;
      const verify = h.run(['verify', '--all', '--json'], { env });
      expect(verify.code, verify.stderr).toBe(0);
      expect(JSON.parse(verify.stdout).checked).toBe(ROTATE_VERSIONS);
      if (status.rotationInProgress) {
        const resumed = h.run(['key', 'rotate', '--json'], { env });
        expect(resumed.code, resumed.stderr).toBe(0);
        expect(JSON.parse(resumed.stdout).resumed).toBe(true);
      }
      const after = JSON.parse(h.run(['key', 'status', '--json'], { env }).stdout);
      expect(after.rotationInProgress).toBe(false);
      const primary = after.keys.find((k: { status: string }) => k.status === 'primary');
      expect(primary.wrappedKeys).toBe(ROTATE_VERSIONS);
      await expectReadable(file, masterKey, new Map([...expected].map(([p, v]) => [`${p}@1`, v])));
    }
    expect(midway).toBeGreaterThan(0);
    const vault = new Vault(openSqliteStorage(file), masterKey, { actor: 'test' });
    expect((await vault.verify()).ok).toBe(true);
    await vault.storage.close();
  });
});
