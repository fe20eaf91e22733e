/**
 * `coffer run` output throughput with masking: a child that prints 100 MB (in 64 KiB writes)
 * into a pipe, read by the bench. Rows: the child alone (the floor), `coffer run --no-mask`
 * (the child writes into the pipe itself), a bare Node process that only copies the child's
 * output from its pipe to its own stdout (the pipe hop every masking process pays, without
 * coffer), the cheapest such hop Node allows (blocking reads and writes of a FIFO, no event
 * loop), `coffer run` masking (the default in a pipe: the output goes through coffer's
 * automaton over 50 values and their encoded forms), and the adversarial text for a trie: a
 * run of `a` against a stored value of 64 `a`s and a `!`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { BASELINE_TAG, comparisonTable } from './baseline.mjs';
import { DIST_CLI } from './env.mjs';
import { cleanEnv, spawnTimed } from './spawn.mjs';
import { fmtBytes, fmtMs, fmtRatio } from './stats.mjs';

export const name = 'run-mask';
export const title = '`coffer run` output masking: a child printing 100 MB into a pipe';

const COUNT = 50;

/** The child: prints `size` bytes of log-like text (or `a`s), naming every SECRET_* value. */
const CHILD = `
const size = Number(process.argv[1]);
const adversarial = process.argv[2] === 'a';
let block;
if (adversarial) block = Buffer.alloc(65536, 'a');
else {
  const values = Object.keys(process.env).filter((k) => k.startsWith('SECRET_')).map((k) => process.env[k]);
  const lines = [];
  let len = 0;
  for (let i = 0; len < 65536; i++) {
    const line = i % 16 === 0
      ? '2024-05-01T10:00:00Z INFO connecting with ' + values[i % values.length] + '\\n'
      : '2024-05-01T10:00:' + String(i % 60).padStart(2, '0') + 'Z INFO GET /api/items/' + i + ' 200 ' + (i % 97) + 'ms user=ann\\n';
    lines.push(line);
    len += line.length;
  }
  block = Buffer.from(lines.join('')).subarray(0, 65536);
}
let left = size;
const write = () => {
  while (left > 0) {
    const b = left >= block.length ? block : block.subarray(0, left);
    left -= b.length;
    if (!process.stdout.write(b)) return process.stdout.once('drain', write);
  }
};
write();
`;

/** A Node process that copies its child's stdout (a pipe) to its own: the pipe hop alone. */
const HOP = `
const { spawn } = require('node:child_process');
const child = spawn(process.execPath, process.argv.slice(1), { stdio: ['inherit', 'pipe', 'inherit'] });
child.stdout.pipe(process.stdout);
child.on('exit', (code) => { process.exitCode = code; });
`;

/**
 * The cheapest hop Node allows: the child writes into a FIFO that this process reads with
 * blocking reads into one reused 1 MiB buffer and copies to its stdout with blocking writes,
 * no event loop in between (a FIFO opened without O_NONBLOCK is the only pipe Node can read
 * that way). Linux and macOS (mkfifo).
 */
const SYNC_HOP = `
const fs = require('node:fs');
const { spawn, spawnSync } = require('node:child_process');
const dir = fs.mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'hop-'));
const fifo = dir + '/out';
if (spawnSync('mkfifo', ['-m', '600', fifo]).status !== 0) process.exit(3);
const probe = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
const w = fs.openSync(fifo, 'w');
const r = fs.openSync(fifo, 'r');
fs.closeSync(probe);
fs.rmSync(dir, { recursive: true });
const child = spawn(process.execPath, process.argv.slice(1), { stdio: ['inherit', w, 'inherit'] });
fs.closeSync(w);
child.on('exit', (code) => { process.exitCode = code; });
setImmediate(() => {
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let n; (n = fs.readSync(r, buf, 0, buf.length, null)) > 0; ) {
    for (let o = 0; o < n; ) o += fs.writeSync(1, buf, o, n - o);
  }
  fs.closeSync(r);
});
`;

const HAS_MKFIFO = spawnSync('sh', ['-c', 'command -v mkfifo']).status === 0;

/**
 * CPU time (user + system, ms) of this process's waited-for children so far, from
 * /proc/self/stat (cutime, cstime; Linux only, else NaN): a child's own and its children's
 * (coffer waits for the program it runs). The difference across one run is that run's.
 */
function childrenCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[13]) + Number(f[14])) * 1000) / 100; // clock ticks: USER_HZ is 100
  } catch {
    return Number.NaN;
  }
}

/** Runs `node args`, reads all of stdout; resolves to { ms, cpu, bytes, tail }. */
function timed(args, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c0 = childrenCpuMs();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let tail = Buffer.alloc(0);
    let err = '';
    child.stdout.on('data', (d) => {
      bytes += d.length;
      tail = d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`\`node ${args[0]} ...\` exited with ${code}: ${err}`));
      else resolve({ ms, cpu: childrenCpuMs() - c0, bytes, tail: tail.toString('latin1') });
    });
  });
}

/** A vault in `home` made by the build's binary `cli`: the 50 values and the adversarial one. */
function makeVault(cli, home, values) {
  const env = cleanEnv({ COFFER_HOME: join(home, 'vault') });
  spawnTimed([cli, 'init'], env);
  const lines = values.map(
    (v, i) => `# Bench secret number ${i} for the masking benchmark\nSECRET_${i}=${v}`,
  );
  writeFileSync(join(home, 'import.env'), lines.join('\n'));
  spawnTimed([cli, 'env', 'import', join(home, 'import.env'), '--project', 'bench'], env);
  const worst = `${'a'.repeat(64)}!`;
  spawnTimed(
    [cli, 'set', 'project/worst/prefix_value', '-d', 'Value whose prefix the text repeats'],
    env,
    worst,
  );
  return env;
}

export async function run(ctx) {
  const values = [];
  for (let i = 0; i < COUNT; i++) values.push(`value-${i}-${'x'.repeat(24)}`);
  const env = makeVault(DIST_CLI, ctx.scratch.sub('run-mask'), values);

  const size = ctx.quick ? 8 * 1024 * 1024 : 100 * 1024 * 1024;
  const node = process.execPath;
  const child = (kind) => ['-e', CHILD, String(size), kind];
  const childEnv = { ...env };
  for (let i = 0; i < COUNT; i++) childEnv[`SECRET_${i}`] = values[i];
  const cases = [
    { label: 'child alone (floor)', args: child('log'), env: childEnv },
    {
      label: 'coffer run --no-mask',
      args: [DIST_CLI, 'run', '--no-mask', '-p', 'bench', '--', node, ...child('log')],
      env,
      base: true,
    },
    {
      label: "node copying the child's pipe to its stdout (no coffer)",
      args: ['-e', HOP, '--', ...child('log')],
      env: childEnv,
      hop: true,
    },
    ...(HAS_MKFIFO
      ? [
          {
            label: 'node relaying a FIFO with blocking reads and writes (no coffer)',
            args: ['-e', SYNC_HOP, '--', ...child('log')],
            env: childEnv,
            syncHop: true,
          },
        ]
      : []),
    {
      label: 'node -e 0 (the hop process start-up)',
      args: ['-e', '0'],
      env: childEnv,
      startup: true,
    },
    {
      label: `coffer run, masking ${COUNT} values (default in a pipe)`,
      args: [DIST_CLI, 'run', '-p', 'bench', '--', node, ...child('log')],
      env,
      masked: true,
    },
    {
      label: 'coffer run --no-mask, text repeating a value prefix',
      args: [DIST_CLI, 'run', '--no-mask', '-p', 'worst', '--', node, ...child('a')],
      env,
      baseAdversarial: true,
    },
    {
      label: 'coffer run, masking, text repeating a value prefix',
      args: [DIST_CLI, 'run', '-p', 'worst', '--', node, ...child('a')],
      env,
      adversarial: true,
    },
  ];
  // With --baseline: each coffer case also on the baseline build (its own vault), interleaved.
  if (ctx.baseline) {
    const baseEnv = makeVault(ctx.baseline.cli, ctx.scratch.sub('run-mask-baseline'), values);
    for (const c of [...cases]) {
      if (c.args[0] !== DIST_CLI) continue;
      const twin = {
        ...c,
        label: `${c.label} ${BASELINE_TAG}`,
        args: [ctx.baseline.cli, ...c.args.slice(1)],
        env: baseEnv,
        baseline: true,
      };
      c.twin = twin;
      cases.splice(cases.indexOf(c) + 1, 0, twin);
    }
  }
  const rounds = ctx.quick ? 1 : ctx.baseline ? 4 : 3;
  for (const c of cases) {
    c.samples = [];
    c.cpu = [];
  }
  const load = [loadavg()[0]];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(i + round) % cases.length];
      ctx.log(`run-mask: ${c.label} (round ${round + 1}/${rounds})`);
      const r = await timed(c.args, c.env);
      if (c.masked && values.some((v) => r.tail.includes(v)))
        throw new Error('a value was not masked');
      if (!c.masked && !c.adversarial && !c.startup && r.bytes !== size)
        throw new Error(`${c.label}: short output`);
      c.samples.push(r.ms);
      c.cpu.push(r.cpu);
    }
  }
  load.push(loadavg()[0]);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const med = (c) => median(c.samples);
  const cpuMed = (c) => median(c.cpu);
  const mbs = (c) => size / 1e6 / (med(c) / 1000);
  const base = cases.find((c) => c.base && !c.baseline);
  const baseAdv = cases.find((c) => c.baseAdversarial && !c.baseline);
  const floor = cases[0];
  const hop = cases.find((c) => c.hop);
  const syncHop = cases.find((c) => c.syncHop);
  const startup = cases.find((c) => c.startup);
  /** The pipe hop alone: the copying process over the child alone, less its own start-up. */
  const hopCost = (f) => f(hop) - f(floor) - f(startup);
  /** The same for the cheapest relay (blocking reads and writes of a FIFO). */
  const syncHopCost = (f) => f(syncHop) - f(floor) - f(startup);
  const masked = cases.find((c) => c.masked && !c.baseline);
  /** What masking adds beyond coffer's start-up (--no-mask) and the pipe hop. */
  const beyond = (f) => f(masked) - f(base) - hopCost(f);
  /** --no-mask plus the bare pipe hop, over --no-mask: what a hop costs before any scan. */
  const floorWall = (med(base) + hopCost(med)) / med(base);
  /** --no-mask plus the cheapest relay, over --no-mask. */
  const syncFloorWall = syncHop ? (med(base) + syncHopCost(med)) / med(base) : Number.NaN;
  const syncFloorCpu = syncHop ? (cpuMed(base) + syncHopCost(cpuMed)) / cpuMed(base) : Number.NaN;
  const rows = cases.map((c) => {
    const own = c.adversarial ? baseAdv : base;
    const against = c.baseline ? own.twin : own;
    const cost = med(c) / med(against);
    const cpuCost = cpuMed(c) / cpuMed(against);
    const measured = c.masked || c.adversarial;
    return [
      c.label,
      c.startup ? '-' : fmtBytes(size),
      fmtMs(med(c)),
      Number.isNaN(cpuMed(c)) ? '-' : fmtMs(cpuMed(c)),
      c.startup ? '' : mbs(c).toFixed(0),
      measured ? fmtRatio(cost) : '',
      measured && !Number.isNaN(cpuCost) ? fmtRatio(cpuCost) : '',
      measured
        ? `masking costs < 20 %: ${cost <= 1.2 ? 'met' : 'NOT met'} (wall), ${cpuCost <= 1.2 ? 'met' : 'NOT met'} (cpu)`
        : '',
    ];
  });
  const table = {
    title,
    columns: [
      { header: 'command', align: 'left' },
      { header: 'output', align: 'right' },
      { header: 'median ms', align: 'right' },
      { header: 'cpu ms', align: 'right' },
      { header: 'MB/s', align: 'right' },
      { header: 'vs --no-mask', align: 'right' },
      { header: 'cpu vs --no-mask', align: 'right' },
      { header: 'target', align: 'left' },
    ],
    rows,
    notes: [
      `Median of ${rounds} interleaved rounds; times include coffer's start-up (vault open, 50 reads audited).`,
      '--no-mask: the child writes into the pipe itself. Masking: the child writes into a pipe to coffer, which masks and writes into the pipe the bench reads.',
      `Adversarial: the child prints only \`a\`; a stored value is 64 \`a\`s and a \`!\`.`,
      'cpu ms: user + system time of coffer and the child together (median; /proc/self/stat of the bench, Linux only): what the run needs, where the wall time is what a machine shared with other work gave it.',
      `Load average (1 min) at the start and end of this section: ${load.map((l) => l.toFixed(2)).join(' and ')} on ${availableParallelism()} cores.`,
      `Pipe hop: a bare Node process reading the child's pipe and writing to its stdout costs ${Math.round(hopCost(med))} ms wall and ${Math.round(hopCost(cpuMed))} ms cpu over the child alone (less its own start-up, the node -e 0 row); masking adds ${Math.round(beyond(med))} ms wall and ${Math.round(beyond(cpuMed))} ms cpu beyond that hop and coffer's start-up (differences of medians: noisy on a busy machine; negative when coffer's own hop costs less than the bare one). Every masking process pays a hop, which Node's pipes make a new buffer per read; coffer reads a socket of its own into one reused 1 MiB buffer instead. --no-mask pays none, as the child writes into the pipe itself.`,
      `Floor for any masking process: --no-mask plus the bare hop above is ${fmtRatio(floorWall)} of --no-mask in wall time and ${fmtRatio((cpuMed(base) + hopCost(cpuMed)) / cpuMed(base))} in cpu, before anything is scanned.${syncHop ? ` With the cheapest relay Node allows (the FIFO row: blocking reads and writes, no event loop), ${Math.round(syncHopCost(med))} ms wall and ${Math.round(syncHopCost(cpuMed))} ms cpu over the child alone, the floor is ${fmtRatio(syncFloorWall)} in wall time and ${fmtRatio(syncFloorCpu)} in cpu` : ' (mkfifo is missing here: no FIFO row)'}${Math.min(floorWall, syncHop ? syncFloorWall : floorWall) > 1.2 ? ': the 1.2x target is below what a process that reads the output in JavaScript reaches on this machine.' : '.'}`,
      'Masking reads each chunk with a skip search (Wu-Manber over 3-byte grams, windows of the shortest form, its tables built after the first 64 KiB) and the automaton (byte-indexed transitions) only where a form may start; each chunk goes out in one gathered write, the unchanged text as views of the chunk and a marker per match.',
    ],
  };
  if (!ctx.baseline) return table;
  /** Median over rounds of current / baseline in the same round. */
  const perRound = (c, key) => median(c[key].map((v, i) => v / c.twin[key][i]));
  const compared = cases.filter((c) => c.twin !== undefined);
  return [
    table,
    comparisonTable('`run` masking', ctx.baseline, [
      ...compared.map((c) => ({
        label: `${c.label}: wall`,
        base: med(c.twin),
        current: med(c),
        ratio: perRound(c, 'samples'),
        unit: 'ms',
      })),
      ...compared.map((c) => ({
        label: `${c.label}: cpu`,
        base: cpuMed(c.twin),
        current: cpuMed(c),
        ratio: perRound(c, 'cpu'),
        unit: 'ms',
      })),
    ]),
  ];
}
