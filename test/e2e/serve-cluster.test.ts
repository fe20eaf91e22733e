/**
 * Two `coffer serve` processes on one PostgreSQL schema (the acceptance test of several
 * instances on one database). Ten clients (`coffer/client`) write through both instances
 * with check-and-set until 150 writes are acknowledged, each write followed at once by a read through the other
 * instance; every acknowledged write is recorded. Then:
 * - no acknowledged write is lost: each (path, version) reads back with its value, through
 *   either instance;
 * - no version number is duplicated: every secret's history is exactly 1..N, and every
 *   acknowledgement names a different version;
 * - every committed write was acknowledged (no failures in this phase), and audited once;
 * - `coffer audit verify` passes: one hash chain across both instances;
 * - a write through one instance is read through the other immediately;
 * - a key rotation run from a third process midway is safe while both serve: every value
 *   still reads back, and the old key-encryption key ends up retired.
 * Second phase, same vault: the clients keep writing, one instance is killed (SIGKILL)
 * mid-load, the clients go on through the survivor; again no acknowledged write is lost, no
 * version is duplicated, the chain verifies, and the writes whose answer the kill swallowed
 * are the only ones that may be committed without an acknowledgement.
 *
 * Runs only when COFFER_TEST_DATABASE_URL is set (throw-away schema, dropped afterwards).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CofferClient, createClient } from '../../src/client/index.js';
import { CofferError } from '../../src/core/errors.js';
import { finished, makeHome, type RunResult, spawnCoffer } from './harness.js';
import {
  randomMasterKey,
  reportSkipped,
  type ServeProcess,
  startServe,
  TEST_DATABASE_URL,
  type ThrowAwayDatabase,
  throwAwayDatabase,
} from './serve-harness.js';

reportSkipped('the two-instance `coffer serve` test on PostgreSQL');

const ENV = 'prod';
const PATHS = [
  'project/cluster/k0',
  'project/cluster/k1',
  'project/cluster/k2',
  'project/cluster/k3',
];
const CLIENTS = 10;
/**
 * The phases end on counts, not on time, so a loaded machine runs them longer instead of
 * failing; MAX_LOAD_MS only bounds a phase that can never reach its count.
 */
const FIRST_ACKS = 150;
const ROTATE_AFTER_ACKS = 50;
const KILL_AFTER_ACKS = 30;
const ACKS_AFTER_KILL = 40;
const MAX_LOAD_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded by MAX_LOAD_MS) until `ready()` holds; false when it never did. */
async function until(ready: () => boolean): Promise<boolean> {
  const deadline = Date.now() + MAX_LOAD_MS;
  while (!ready()) {
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
  return true;
}

interface Ack {
  path: string;
  version: number;
  value: string;
}

/** What one load phase saw. */
interface Phase {
  acks: Ack[];
  /** Writes that got no answer because their instance died: committed or not. */
  uncertain: { path: string; value: string }[];
  conflicts: number;
  /** A read through the other instance right after a write that did not see it. */
  staleReads: string[];
  /** Any other error (message and code only; values are never in messages). */
  unexpected: string[];
}

function errorCode(err: unknown): string {
  return err instanceof CofferError ? err.code : String(err);
}

describe.skipIf(!TEST_DATABASE_URL)('two coffer serve instances on one PostgreSQL schema', () => {
  let db: ThrowAwayDatabase;
  let env: Record<string, string>;
  let run: ReturnType<typeof makeHome>['run'];
  let servers: ServeProcess[] = [];
  /** A client per instance with the load's token, and one with an admin token. */
  let writers: CofferClient[];
  let admins: CofferClient[];
  /** Versions acknowledged so far, all phases. */
  const allAcks: Ack[] = [];

  beforeAll(async () => {
    db = throwAwayDatabase(TEST_DATABASE_URL!, 'coffer_cluster');
    const h = makeHome();
    env = { ...h.env, COFFER_DATABASE_URL: db.url, COFFER_MASTER_KEY: randomMasterKey() };
    run = (args, o = {}) => h.run(args, { ...o, env: { ...env, ...o.env } });
    expect(run(['init']).code).toBe(0);
    const token = (
      name: string,
      caps: string,
      scope = ['--allow', 'project/cluster/*', '--env', ENV],
    ) => {
      const r = run(['token', 'create', '--name', name, ...scope, '--cap', caps, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { token: string }).token;
    };
    const writeToken = token('load', 'read,list,write');
    // Checking the whole audit chain needs an admin token for every path and environment.
    const adminToken = token('checker', 'read,list,admin', ['--allow', '**']);
    servers = await Promise.all([
      startServe(env, ['--log-level', 'warn']),
      startServe(env, ['--log-level', 'warn']),
    ]);
    const urls = servers.map((s) => s.url);
    expect(urls[0]).not.toBe(urls[1]);
    writers = urls.map((url) => createClient({ url, token: writeToken, timeoutMs: 20_000 }));
    admins = urls.map((url) => createClient({ url, token: adminToken, timeoutMs: 20_000 }));
    // Every path exists before the load (version 1), created through alternating instances.
    for (const [i, path] of PATHS.entries()) {
      const value = `initial-${i}-${randomBytes(8).toString('hex')}`;
      const r = await writers[i % 2]!.setSecret(path, value, {
        env: ENV,
        description: 'Secret written by the cluster test',
        ifVersion: 0,
      });
      expect(r.version).toBe(1);
      allAcks.push({ path, version: 1, value });
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => (s.child.exitCode === null ? s.stop() : undefined)));
    await db?.drop();
  });

  /**
   * Runs the clients until `done(phase)` holds (or MAX_LOAD_MS passed); each alternates the instance it writes through and reads
   * back through the other one, among those not in `killed`. `during` runs alongside
   * (it gets the phase's record as it grows).
   */
  async function load(
    done: (phase: Phase) => boolean,
    killed: Set<number>,
    during?: (phase: Phase) => Promise<void>,
  ): Promise<Phase> {
    const phase: Phase = { acks: [], uncertain: [], conflicts: 0, staleReads: [], unexpected: [] };
    const deadline = Date.now() + MAX_LOAD_MS;
    const client = async (c: number) => {
      const known = new Map<string, number>();
      for (let n = 0; Date.now() < deadline && !done(phase); n++) {
        const usable = [0, 1].filter((i) => !killed.has(i));
        const via = usable[(c + n) % usable.length]!;
        const other = usable[(c + n + 1) % usable.length]!;
        const path = PATHS[(c * 7 + n) % PATHS.length]!;
        let stage = 'read';
        let instance = via;
        try {
          let version = known.get(path);
          if (version === undefined) {
            version = (await writers[via]!.getSecret(path, { env: ENV })).version;
          }
          const value = `c${c}-n${n}-${randomBytes(6).toString('hex')}`;
          stage = 'write';
          let r: { version: number };
          try {
            r = await writers[via]!.setSecret(path, value, { env: ENV, ifVersion: version });
          } catch (err) {
            // No answer (or a cut one): the write may or may not have been committed.
            if (errorCode(err) !== 'VERSION_CONFLICT') phase.uncertain.push({ path, value });
            throw err;
          }
          phase.acks.push({ path, version: r.version, value });
          if (r.version !== version + 1) {
            phase.unexpected.push(`${path}: wrote over ${version}, got ${r.version}`);
          }
          known.set(path, r.version);
          stage = 'read back';
          instance = other;
          const seen = await writers[other]!.getSecret(path, { env: ENV });
          if (seen.version < r.version) {
            phase.staleReads.push(
              `${path}: wrote ${r.version} via ${via}, read ${seen.version} via ${other}`,
            );
          }
        } catch (err) {
          const code = errorCode(err);
          if (code === 'VERSION_CONFLICT') {
            phase.conflicts++;
            known.delete(path);
          } else if (killed.has(instance)) {
            // A request in flight to the killed instance fails one way or another.
          } else {
            phase.unexpected.push(`${stage} via instance ${instance}: ${code}`);
          }
        }
      }
    };
    await Promise.all([
      ...Array.from({ length: CLIENTS }, (_, c) => client(c)),
      ...(during ? [during(phase)] : []),
    ]);
    return phase;
  }

  /** The history of every path through `via`: versions and their count. */
  async function histories(via: CofferClient): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    for (const path of PATHS) {
      const h = await via.history(path, { env: ENV });
      out.set(
        path,
        h.versions.map((v) => v.version).sort((a, b) => a - b),
      );
    }
    return out;
  }

  /** Reads every acknowledged version back, alternating between the given instances. */
  async function readBack(acks: Ack[], via: CofferClient[]): Promise<string[]> {
    const wrong: string[] = [];
    let next = 0;
    const worker = async (w: number) => {
      for (let i = next++; i < acks.length; i = next++) {
        const a = acks[i]!;
        const client = via[(i + w) % via.length]!;
        const got = await client.getSecret(a.path, { env: ENV, version: a.version });
        if (got.value !== a.value) wrong.push(`${a.path} v${a.version}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    return wrong;
  }

  /** Every check that holds after any phase. */
  async function checkInvariants(survivors: CofferClient[]): Promise<Map<string, number[]>> {
    // No version acknowledged twice.
    const keys = allAcks.map((a) => `${a.path}#${a.version}`);
    expect(new Set(keys).size).toBe(keys.length);
    // Each secret's history is 1..N without gaps or duplicates, the same on every instance.
    const seen = await Promise.all(survivors.map((c) => histories(c)));
    for (const h of seen.slice(1)) expect(h).toEqual(seen[0]);
    const hist = seen[0]!;
    for (const [path, versions] of hist) {
      expect(versions, path).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
    }
    // Every acknowledged write is there with its value, through every surviving instance.
    for (const a of allAcks) expect(a.version).toBeLessThanOrEqual(hist.get(a.path)!.length);
    expect(await readBack(allAcks, survivors)).toEqual([]);
    // One valid hash chain, checked by the CLI on the database and by the server.
    const verify = run(['audit', 'verify', '--json']);
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
    expect(await survivors[0]!.auditVerify()).toMatchObject({ ok: true });
    // Each committed version was audited exactly once as a successful `set`.
    const setVersions = new Map<string, number[]>();
    let after = 0;
    for (;;) {
      const page = await survivors[0]!.audit({ afterSeq: after, limit: 1000 });
      if (page.length === 0) break;
      for (const r of page) {
        if (r.action === 'set' && r.outcome === 'ok' && r.path !== null && r.version !== null) {
          setVersions.set(r.path, [...(setVersions.get(r.path) ?? []), r.version]);
        }
      }
      after = page.at(-1)!.seq;
    }
    for (const [path, versions] of hist) {
      expect(
        setVersions.get(path)?.sort((a, b) => a - b),
        path,
      ).toEqual(versions);
    }
    return hist;
  }

  let afterFirst: Map<string, number[]>;

  it(
    `10 clients write with check-and-set through both instances until ${FIRST_ACKS} writes: nothing lost or duplicated`,
    async () => {
      // Midway, a key rotation runs from a third process on the same database; the phase goes
      // on until the rotation is over too.
      let rotation: RunResult | undefined;
      const phase = await load(
        (p) => p.acks.length >= FIRST_ACKS && p.conflicts > 0 && rotation !== undefined,
        new Set(),
        async (running) => {
          await until(() => running.acks.length >= ROTATE_AFTER_ACKS);
          rotation = await finished(spawnCoffer(['key', 'rotate', '--json'], { env }));
        },
      );
      expect(rotation?.code, rotation?.stderr).toBe(0);
      expect(JSON.parse(rotation!.stdout)).toMatchObject({ newKey: 'k2', retired: ['k1'] });
      allAcks.push(...phase.acks);
      expect(phase.unexpected).toEqual([]);
      expect(phase.uncertain).toEqual([]);
      expect(phase.staleReads).toEqual([]);
      // The load was real: many writes through each instance, and contention on each path.
      expect(phase.acks.length).toBeGreaterThanOrEqual(FIRST_ACKS);
      expect(phase.conflicts).toBeGreaterThan(0);
      afterFirst = await checkInvariants(admins);
      // No failures here: every committed version was acknowledged.
      for (const [path, versions] of afterFirst) {
        expect(versions.length, path).toBe(allAcks.filter((a) => a.path === path).length);
      }
      console.info(
        `cluster: ${phase.acks.length} acknowledged writes, ${phase.conflicts} check-and-set conflicts`,
      );
    },
    2 * MAX_LOAD_MS,
  );

  it('a write through one instance is read through the other at once', async () => {
    for (let i = 0; i < 20; i++) {
      const [w, r] = i % 2 === 0 ? [0, 1] : [1, 0];
      const value = `immediate-${i}-${randomBytes(8).toString('hex')}`;
      const set = await writers[w]!.setSecret(PATHS[0]!, value, { env: ENV });
      allAcks.push({ path: PATHS[0]!, version: set.version, value });
      const got = await writers[r]!.getSecret(PATHS[0]!, { env: ENV });
      expect(got.version).toBe(set.version);
      expect(got.value).toBe(value);
    }
  });

  it(
    'SIGKILL of one instance mid-load: the clients go on through the survivor, nothing acknowledged is lost',
    async () => {
      expect(afterFirst).toBeDefined();
      const before = await histories(admins[0]!);
      const killed = new Set<number>();
      let exit: NodeJS.Signals | null = null;
      let acksAtKill = 0;
      let killDone = false;
      const phase = await load(
        (p) => killDone && p.acks.length - acksAtKill >= ACKS_AFTER_KILL,
        killed,
        async (running) => {
          await until(() => running.acks.length >= KILL_AFTER_ACKS);
          // From here on the clients use instance 0 only; requests in flight to 1 fail.
          killed.add(1);
          acksAtKill = running.acks.length;
          exit = (await servers[1]!.kill()).signal;
          killDone = true;
        },
      );
      allAcks.push(...phase.acks);
      expect(phase.unexpected).toEqual([]);
      expect(phase.staleReads).toEqual([]);
      expect(exit).toBe('SIGKILL');
      // Writes went on after the kill: the survivor acknowledged writes in the second half.
      expect(phase.acks.length - acksAtKill).toBeGreaterThanOrEqual(ACKS_AFTER_KILL);
      const hist = await checkInvariants([admins[0]!]);
      // Only writes whose answer was lost with the instance may be committed unacknowledged.
      for (const path of PATHS) {
        const added = hist.get(path)!.length - before.get(path)!.length;
        const acked = phase.acks.filter((a) => a.path === path).length;
        const unsure = phase.uncertain.filter((u) => u.path === path).length;
        expect(added, path).toBeGreaterThanOrEqual(acked);
        expect(added, path).toBeLessThanOrEqual(acked + unsure);
      }
      // The survivor still shuts down cleanly on SIGTERM, its pool closed.
      const stopped = await servers[0]!.stop();
      expect(stopped.code, stopped.stderr).toBe(0);
      console.info(
        `cluster with a kill: ${phase.acks.length} acknowledged writes, ${phase.uncertain.length} unanswered by the killed instance`,
      );
    },
    2 * MAX_LOAD_MS,
  );
});
