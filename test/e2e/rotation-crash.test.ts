/**
 * Crash safety of `coffer rotate`: SIGKILLed at random moments (a share of its measured
 * duration, no absolute timing). After every kill the secret holds either its old current
 * version or the new one, the rotation state agrees with it, `verify --all` and `audit
 * verify` pass, and a second run completes.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/core/audit/log.js';
import { graceValues, Vault } from '../../src/core/index.js';
import { openSqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { finished, makeHome, type RunResult, spawnCoffer } from './harness.js';

const KILLS = 30;
const PATH = 'project/crash/session_key';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function killAfter(
  args: string[],
  env: Record<string, string>,
  delayMs: number,
): Promise<RunResult> {
  const child = spawnCoffer(args, { env });
  const done = finished(child);
  await Promise.race([done, sleep(delayMs)]);
  child.kill('SIGKILL');
  return done;
}

/** The i-th delay: from 5% to 120% of a run's duration, in a fixed spread order. */
function killDelay(i: number, durationMs: number): number {
  const share = 0.05 + (1.15 * ((i * 7) % 10)) / 9;
  return Math.max(1, durationMs * share);
}

/** The current version and value, the previous version injected, and both integrity checks. */
async function inspect(
  file: string,
  masterKey: Uint8Array,
): Promise<{ version: number; value: string; previous: number | undefined }> {
  const storage = openSqliteStorage(file);
  const vault = new Vault(storage, new Uint8Array(masterKey), { actor: 'test:inspect' });
  try {
    const cur = await vault.get(PATH, 'dev');
    const grace = await graceValues(vault, 'crash', 'dev');
    const report = await vault.verify();
    expect(report.ok, JSON.stringify(report.failures)).toBe(true);
    expect((await verifyAudit(vault)).ok).toBe(true);
    return { version: cur.version, value: cur.value, previous: grace[0]?.version };
  } finally {
    vault.close();
    await storage.close();
  }
}

describe('coffer rotate under SIGKILL', () => {
  it(`${KILLS} kills at random moments: old or new state, the vault verifies, a second run completes`, async () => {
    const h = makeHome();
    const masterKey = randomBytes(32);
    const env = { ...h.env, COFFER_MASTER_KEY: masterKey.toString('base64') };
    const file = join(h.env.COFFER_HOME!, 'vault.db');
    expect(h.run(['init'], { env }).code).toBe(0);
    const gen = h.run(
      [
        'generate',
        'session_key',
        '--kind',
        'hex',
        '--store',
        PATH,
        '-d',
        'Signs session cookies for logged-in users',
      ],
      { env },
    );
    expect(gen.code, gen.stderr).toBe(0);
    const args = ['rotate', PATH, '--grace', '1d', '--previous-name', 'SESSION_KEY_PREVIOUS'];
    const t0 = performance.now();
    const first = await finished(spawnCoffer(args, { env }));
    expect(first.code, first.stderr).toBe(0);
    let duration = performance.now() - t0;

    let state = await inspect(file, masterKey);
    expect(state).toMatchObject({ version: 2, previous: 1 });
    let killed = 0;
    let completed = 0;
    for (let i = 0; i < KILLS; i++) {
      const before = state;
      const started = performance.now();
      const r = await killAfter(args, env, killDelay(i, duration));
      state = await inspect(file, masterKey);
      if (r.code === 0) {
        completed++;
        duration = (duration + (performance.now() - started)) / 2;
      } else {
        killed++;
      }
      if (state.version === before.version) {
        // Old state: nothing of the rotation is visible.
        expect(r.code).not.toBe(0);
        expect(state.value).toBe(before.value);
        expect(state.previous).toBe(before.previous);
      } else {
        // New state: one new version, and the previous one is the old current.
        expect(state.version).toBe(before.version + 1);
        expect(state.value).not.toBe(before.value);
        expect(state.previous).toBe(before.version);
      }
    }
    // A run after the kills completes.
    const again = await finished(spawnCoffer(args, { env }));
    expect(again.code, again.stderr).toBe(0);
    const last = await inspect(file, masterKey);
    expect(last.version).toBe(state.version + 1);
    expect(h.run(['verify', '--all'], { env }).code).toBe(0);
    expect(h.run(['audit', 'verify'], { env }).code).toBe(0);
    expect(killed).toBeGreaterThan(0);
    expect(killed + completed).toBe(KILLS);
  }, 600_000);
});
