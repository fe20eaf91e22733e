/**
 * Secret rotation: `rotation status` over 10,000 secrets (1,000 with --quick) in the library
 * (`rotationStatus(vault)`, target < 200 ms) and on the CLI (`coffer rotation status --json`,
 * target < 2x `coffer list --json` of the same secrets in the same run), and `coffer rotate`
 * of one generated secret end to end (a new value, the rotation state, the audit record and
 * the list of stale places) beside doing it by hand (`openssl rand` then `coffer set`).
 *
 * The vault is populated through the library's pieces in a few large transactions (as
 * rotation.mjs does): a mix of policies (90d, 365d, on-compromise, none), ages (some
 * overdue, some due soon) and current versions (half the secrets at version 2, so the age
 * of the current version comes from the versions table, not the secret's row).
 *
 * The machine is shared: beside each wall time is the CPU time (user + system) the work
 * took, this process's for the library, the children's (from /proc/self/stat) for commands.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { DIST_CLI, loadCoffer } from './env.mjs';
import { cleanEnv } from './spawn.mjs';
import { fmtMs, fmtNum, fmtRatio, median } from './stats.mjs';

export const name = 'rotate';
export const title = 'Secret rotation: rotation status over many secrets, rotate one secret';

const LIBRARY_TARGET_MS = 200;
const CLI_TARGET = 2;
const SECRETS_PER_TX = 5000;
const DAY = 86_400_000;
const DESCRIPTION = 'Service credential for the rotation status bench';
const GENERATED = 'project/bench/signing_key';
const POLICIES = ['90d', '365d', 'on-compromise', null];

const pathOf = (i) => `project/p${Math.floor(i / 500)}/svc_${String(i).padStart(6, '0')}`;

/** CPU time of this process (user + system), in ms. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** CPU time (ms) of the children this process has waited for (Linux; USER_HZ 100). */
function childrenCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** Runs one command; returns wall and CPU ms and its stdout; throws on a non-zero exit. */
function timed(cmd, args, env, input) {
  const c0 = childrenCpuMs();
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {
    env,
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const ms = performance.now() - t0;
  const cpu = childrenCpuMs() - c0;
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`\`${cmd} ${args.join(' ')}\` exited with ${r.status}: ${r.stderr.trim()}`);
  }
  return { ms, cpu, stdout: r.stdout };
}

/** `count` secrets (half at version 2) and one generated secret, in a few transactions. */
export async function populate(lib, storage, masterKey, count, now) {
  const { Keyring, sealSecret, AuthenticatedTx } = lib;
  const keyring = new Keyring(masterKey);
  const expected = { overdue: 0 };
  try {
    for (let first = 0; first <= count; first += SECRETS_PER_TX) {
      const last = Math.min(count + 1, first + SECRETS_PER_TX);
      await storage.transaction('write', async (raw) => {
        await keyring.unlock(raw);
        const tx = new AuthenticatedTx(raw, keyring.rowMacKey());
        const kek = await keyring.primary(tx);
        for (let i = first; i < last; i++) {
          const generated = i === count;
          const path = generated ? GENERATED : pathOf(i);
          const policy = generated ? '90d' : POLICIES[i % POLICIES.length];
          // Ages from 0 to 499 days: a period policy is overdue, due soon or fine.
          const created = new Date(now - (i % 500) * DAY).toISOString();
          const versions = generated ? 1 : 1 + (i % 2);
          const ageDays = i % 500;
          if (
            !generated &&
            ((policy === '90d' && ageDays >= 90) || (policy === '365d' && ageDays >= 365))
          )
            expected.overdue++;
          for (let version = 1; version <= versions; version++) {
            const slot = { path, env: 'prod', version };
            const value = generated
              ? randomBytes(32).toString('base64')
              : `v${version}-${String(i).padStart(6, '0')}-bench-secret-value-0123456789`;
            const sealed = sealSecret(kek.key, kek.id, Buffer.from(value), slot);
            await tx.insertVersion({
              ...slot,
              kekId: kek.id,
              wrappedDek: sealed.wrappedDek,
              ciphertext: sealed.ciphertext,
              createdAt: created,
              actor: version === 1 ? 'bench:populate' : 'bench:rotator',
            });
          }
          await tx.insertSecret({
            path,
            env: 'prod',
            description: generated ? 'Signing key for the rotation bench sessions' : DESCRIPTION,
            currentVersion: versions,
            tier: null,
            rotation: policy,
            envVar: null,
            localOnly: false,
            generator: generated ? 'base64:32' : null,
            createdAt: created,
            updatedAt: created,
            deletedAt: null,
          });
        }
      });
    }
  } finally {
    keyring.close();
  }
  return expected;
}

/** Interleaves `commands` round by round; returns each one's wall and CPU samples. */
function interleave(commands, rounds, warmup) {
  for (const c of commands) {
    c.wall = [];
    c.cpu = [];
  }
  for (let round = 0; round < warmup + rounds; round++) {
    for (let k = 0; k < commands.length; k++) {
      const c = commands[(k + round) % commands.length];
      const r = timed(c.cmd, c.args, c.env, c.input?.());
      c.check?.(r.stdout);
      if (round >= warmup) {
        c.wall.push(r.ms);
        c.cpu.push(r.cpu);
      }
    }
  }
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function run(ctx) {
  const lib = await loadCoffer(undefined, [
    'Vault',
    'initVault',
    'openSqliteStorage',
    'Keyring',
    'sealSecret',
    'AuthenticatedTx',
    'rotationStatus',
  ]);
  const { Vault, initVault, openSqliteStorage, rotationStatus } = lib;
  const count = ctx.quick ? 1000 : 10_000;
  const home = ctx.scratch.sub('rotate');
  const masterKey = new Uint8Array(randomBytes(32));
  const storage = openSqliteStorage(join(home, 'vault.db'), { create: true });
  const now = Date.now();
  const rows = [];
  let expected;
  let vault;
  try {
    await initVault(storage, { masterKey, keySource: 'key', actor: 'bench:init' });
    ctx.log(`rotate: populating ${fmtNum(count)} secrets`);
    expected = await populate(lib, storage, masterKey, count, now);
    vault = new Vault(storage, masterKey, { actor: 'bench:rotate' });

    // Library: rotationStatus over every secret, one audited transaction per call.
    const runs = ctx.quick ? 5 : 20;
    const wall = [];
    const cpu = [];
    for (let i = 0; i < runs + 2; i++) {
      const c0 = cpuMs();
      const t0 = performance.now();
      const report = await rotationStatus(vault, { env: 'prod' });
      const ms = performance.now() - t0;
      const c = cpuMs() - c0;
      if (report.items.length !== count + 1) {
        throw new Error(`rotationStatus listed ${report.items.length}, wanted ${count + 1}`);
      }
      if (report.counts.overdue !== expected.overdue) {
        throw new Error(
          `rotationStatus: ${report.counts.overdue} overdue, wanted ${expected.overdue}`,
        );
      }
      if (i >= 2) {
        wall.push(ms);
        cpu.push(c);
      }
    }
    const libMs = median(wall);
    rows.push([
      `rotationStatus(vault) over ${fmtNum(count)} secrets`,
      fmtMs(libMs),
      fmtMs(median(cpu)),
      '',
      `< ${LIBRARY_TARGET_MS} ms: ${libMs < LIBRARY_TARGET_MS ? 'met' : 'NOT met'} (cpu: ${median(cpu) < LIBRARY_TARGET_MS ? 'met' : 'NOT met'})`,
    ]);
  } finally {
    vault?.close();
    await storage.close();
  }

  // CLI: rotation status vs list of the same secrets, and the platform floor.
  const env = cleanEnv({
    COFFER_HOME: home,
    COFFER_MASTER_KEY: Buffer.from(masterKey).toString('base64'),
  });
  const floor = { label: 'node -e 0 (floor)', cmd: process.execPath, args: ['-e', '0'], env };
  const list = {
    label: `coffer list --env prod --json (${fmtNum(count + 1)} secrets)`,
    cmd: process.execPath,
    args: [DIST_CLI, 'list', '--env', 'prod', '--json'],
    env,
    check: (out) => {
      const n = JSON.parse(out).items.length;
      if (n !== count + 1) throw new Error(`coffer list printed ${n} secrets`);
    },
  };
  const status = {
    label: 'coffer rotation status --env prod --json',
    cmd: process.execPath,
    args: [DIST_CLI, 'rotation', 'status', '--env', 'prod', '--json'],
    env,
    check: (out) => {
      const r = JSON.parse(out);
      if (r.items.length !== count + 1 || r.counts.overdue !== expected.overdue)
        throw new Error('coffer rotation status printed a wrong report');
    },
  };
  const rounds = ctx.quick ? 4 : 15;
  ctx.log(`rotate: CLI rotation status vs list, ${rounds} rounds`);
  interleave([floor, list, status], rounds, 1);
  const ratio = median(status.wall) / median(list.wall);
  const cpuRatio = mean(status.cpu) / mean(list.cpu);
  for (const c of [floor, list, status]) {
    rows.push([
      c.label,
      fmtMs(median(c.wall)),
      fmtMs(mean(c.cpu)),
      c === list ? '1.00x' : fmtRatio(median(c.wall) / median(list.wall)),
      c === status
        ? `< ${CLI_TARGET}x list: ${ratio < CLI_TARGET ? 'met' : 'NOT met'} (cpu ${fmtRatio(cpuRatio)}: ${cpuRatio < CLI_TARGET ? 'met' : 'NOT met'})`
        : '',
    ]);
  }

  // rotate of one generated secret, end to end, beside the same change by hand.
  let version = 1;
  const rotate = {
    label: `coffer rotate ${GENERATED} --grace 0`,
    cmd: process.execPath,
    args: [DIST_CLI, 'rotate', GENERATED, '--env', 'prod', '--grace', '0', '--json'],
    env,
    check: (out) => {
      const r = JSON.parse(out);
      if (r.version !== version + 1 || r.kind !== 'generated')
        throw new Error(`coffer rotate made ${r.kind} version ${r.version}, wanted ${version + 1}`);
      version = r.version;
    },
  };
  const openssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
  const byHand = [
    ...(openssl
      ? [
          {
            label: 'by hand: openssl rand -base64 32',
            cmd: 'openssl',
            args: ['rand', '-base64', '32'],
            env,
          },
        ]
      : []),
    {
      label: `by hand: coffer set ${GENERATED} (value on stdin)`,
      cmd: process.execPath,
      args: [DIST_CLI, 'set', GENERATED, '--env', 'prod'],
      env,
      input: () => randomBytes(32).toString('base64'),
      check: () => {
        version++;
      },
    },
  ];
  const rotateRounds = ctx.quick ? 4 : 15;
  ctx.log(`rotate: coffer rotate vs by hand, ${rotateRounds} rounds`);
  interleave([floor, rotate, ...byHand], rotateRounds, 1);
  const handWall = byHand.reduce((a, c) => a + median(c.wall), 0);
  const handCpu = byHand.reduce((a, c) => a + mean(c.cpu), 0);
  for (const c of [rotate, ...byHand]) {
    rows.push([c.label, fmtMs(median(c.wall)), fmtMs(mean(c.cpu)), '', '']);
  }
  rows.push([
    'by hand, total',
    fmtMs(handWall),
    fmtMs(handCpu),
    '',
    `rotate / by hand: ${fmtRatio(median(rotate.wall) / handWall)} wall, ${fmtRatio(mean(rotate.cpu) / handCpu)} cpu; / floor ${fmtRatio(median(rotate.wall) / median(floor.wall))}`,
  ]);

  return {
    title,
    columns: [
      { header: 'what', align: 'left' },
      { header: 'median ms', align: 'right' },
      { header: 'cpu ms', align: 'right' },
      { header: 'vs list', align: 'right' },
      { header: 'target / check', align: 'left' },
    ],
    rows,
    notes: [
      `${fmtNum(count + 1)} secrets in prod: policies 90d, 365d, on-compromise and none in turn, ages 0-499 days (${fmtNum(expected.overdue)} overdue, checked on every run), half at version 2.`,
      'Library: median of 20 calls after 2 warm-up calls; each is one audited transaction (fsync of its audit record included).',
      `Commands: fresh processes, interleaved round by round (${rounds} rounds after 1 warm-up); cpu = mean user + system time of the child (from /proc/self/stat, 10 ms ticks).`,
      'rotate: a new base64:32 value, the rotation state and the audit record in one transaction, then the stale-place listing; "by hand" is seed 004\'s procedure (openssl rand, then coffer set).',
      `The machine is shared with other work (load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(
          ' / ',
        )} at the end): wall times are what the commands got, cpu times what they needed.`,
    ],
  };
}
