/**
 * `coffer serve` under load: requests per second and p50/p99 latency of reading one secret
 * with a token (GET /v1/secrets/project/bench/stripe_api_key, audited: one audit record per
 * read) at 1, 10 and 50 keep-alive connections (autocannon, programmatic API), on SQLite (as
 * served by default, and with --sync-reads: each answer waits for the fsync of its audit
 * record) and, when COFFER_BENCH_DATABASE_URL or COFFER_TEST_DATABASE_URL is set, on
 * PostgreSQL; beside a bare `node:http` server answering a fixed 200-byte body, measured in
 * the same run.
 *
 * Every server is a child process (the built binary `dist/cli.cjs serve --port 0` with its
 * default log level, stderr to a file; the bare server a `node -e` script), and autocannon
 * runs in this process, so client and server each have a core of their own on a 2-core box.
 * Latency is taken from autocannon's per-response times (fractional ms; its own histogram
 * rounds to whole ms). Peak RSS is the server's VmHWM from /proc at the end of its cells.
 *
 * With --baseline, each coffer server has a twin from the baseline build on a vault of its
 * own (a schema of its own on PostgreSQL), measured in the same rounds right after it.
 *
 * Functional checks (a failure fails the bench): the value read over HTTP is the value
 * stored; every request got a 2xx; and afterwards `coffer audit verify` passes with at least
 * one audit record per answered read (a read is answered only once its record committed).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { BASELINE_TAG, comparisonTable } from './baseline.mjs';
import { DIST_CLI, ROOT } from './env.mjs';
import { fmtMs, fmtNum, fmtRate, median, quantile } from './stats.mjs';

export const name = 'serve';
export const title = 'coffer serve: read one secret over HTTP with a token (audit on)';

const SECRET = 'project/bench/stripe_api_key';
const VALUE = 'sk_test_bench_0123456789abcdefghijklmnopqrstuvwxyz';
const CONNECTIONS = [1, 10, 50];
/** Target: coffer serve on SQLite at 10 connections, as a share of bare node:http. */
const TARGET_SHARE = 0.3;
const TARGET_SHARE_AT = 10;
const TARGET_RSS_MIB = 120;

const requireHere = createRequire(join(ROOT, 'package.json'));

const BARE_SERVER = `
const http = require('node:http');
const body = Buffer.from(${JSON.stringify(JSON.stringify({ value: 'x'.repeat(188) }))});
if (body.length !== 200) throw new Error('body must be 200 bytes');
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write('http://127.0.0.1:' + server.address().port + '\\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

function childEnv(home, extra = {}) {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    COFFER_HOME: home,
    ...extra,
  };
}

/** Runs one coffer command (of the build `cli`) to completion; throws with its stderr on failure. */
function coffer(args, env, input, cli = DIST_CLI) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    env,
    input: input ?? '',
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) {
    throw new Error(`coffer ${args[0]} ${args[1] ?? ''} failed (${r.status}): ${r.stderr.trim()}`);
  }
  return r.stdout;
}

/** A vault with the bench secret and a read-only token for it; returns the token. */
function prepareVault(env, cli) {
  coffer(['init'], env, undefined, cli);
  coffer(
    ['set', SECRET, '--env', 'dev', '--description', 'Stripe API key for the serve bench'],
    env,
    VALUE,
    cli,
  );
  const created = JSON.parse(
    coffer(
      [
        ...['token', 'create', '--name', 'bench', '--allow', 'project/bench/*'],
        ...['--env', 'dev', '--cap', 'read', '--json'],
      ],
      env,
      undefined,
      cli,
    ),
  );
  if (typeof created.token !== 'string') throw new Error('token create printed no token');
  return created.token;
}

/** Starts a server child that prints its URL on the first stdout line. */
async function startServer(label, args, env, logFile) {
  const errFd = openSync(logFile, 'w', 0o600);
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', errFd] });
  closeSync(errFd);
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`${label} did not start within 20 s`)), 20_000);
    const fail = (err) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      let log = '';
      try {
        log = readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
      } catch {
        // no log
      }
      reject(new Error(`${err.message}${log ? `\n${log}` : ''}`));
    };
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl).trim());
      }
    });
    child.once('exit', (code) => fail(new Error(`${label} exited (${code}) before listening`)));
  });
  child.removeAllListeners('exit');
  return {
    url,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Peak resident set (VmHWM) of a live process in MiB, or NaN off Linux. */
function peakRssMiB(pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU time (user + system, ms) a live process has used so far, from /proc (Linux only, else
 * NaN): with the answers counted, the server's CPU per request, which a noisy machine moves
 * much less than req/s (a slower neighbour stretches time, not work).
 */
function cpuMsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // clock ticks: USER_HZ is 100
  } catch {
    return Number.NaN;
  }
}

/** One autocannon run; returns the 2xx count, req/s and the 2xx latencies (ms). */
async function load(url, headers, connections, seconds) {
  const autocannon = requireHere('autocannon');
  const times = [];
  const started = performance.now();
  const instance = autocannon({ url, headers, connections, duration: seconds, pipelining: 1 });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) times.push(ms);
  });
  const result = await instance;
  const elapsed = (performance.now() - started) / 1000;
  const ok = result['2xx'];
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0 || ok === 0) {
    throw new Error(
      `load on ${new URL(url).pathname} at ${connections} connections: ${ok} ok, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  return { ok, perSec: ok / elapsed, times };
}

/**
 * Measures every target at each connection count in interleaved rounds (bare, then each
 * coffer server, then bare again, ...), so that a machine that speeds up or slows down
 * during the run moves all of them alike. Per target and count: the median req/s over the
 * rounds, latency quantiles over all its answers, and the median over rounds of its req/s
 * divided by bare's in the same round.
 */
async function measureInterleaved(ctx, targets, rounds, seconds) {
  for (const t of targets) {
    ctx.log(`serve: ${t.label}: warm-up`);
    await load(t.url, t.headers, 10, ctx.quick ? 0.5 : 1);
  }
  const cells = new Map(targets.map((t) => [t, []]));
  for (const connections of CONNECTIONS) {
    const perRound = new Map(
      targets.map((t) => [t, { rates: [], times: [], ok: 0, cpuMs: 0, cpuPerReq: [] }]),
    );
    for (let round = 0; round < rounds; round++) {
      ctx.log(`serve: ${connections} connection(s), round ${round + 1} of ${rounds}`);
      // Bare first, then the coffer servers, in reverse order every other round: a build
      // never always runs right after the same neighbour (PostgreSQL's background writes
      // after its cells, say).
      const order = round % 2 === 0 ? targets : [targets[0], ...targets.slice(1).reverse()];
      for (const t of order) {
        const cpuBefore = cpuMsOf(t.server.pid);
        const r = await load(t.url, t.headers, connections, seconds);
        const cpu = cpuMsOf(t.server.pid) - cpuBefore;
        const acc = perRound.get(t);
        acc.cpuMs += cpu;
        acc.cpuPerReq.push((cpu * 1000) / r.ok);
        acc.rates.push(r.perSec);
        acc.ok += r.ok;
        for (const ms of r.times) acc.times.push(ms);
      }
    }
    const bareRates = perRound.get(targets[0]).rates;
    for (const t of targets) {
      const acc = perRound.get(t);
      cells.get(t).push({
        connections,
        ok: acc.ok,
        rates: acc.rates,
        perSec: median(acc.rates),
        share: median(acc.rates.map((rate, i) => rate / bareRates[i])),
        p50: quantile(acc.times, 0.5),
        p99: quantile(acc.times, 0.99),
        /** The server's CPU per answered request (us), over all rounds, and per round. */
        cpuPerReq: (acc.cpuMs * 1000) / acc.ok,
        cpuPerRound: acc.cpuPerReq,
      });
    }
  }
  return cells;
}

/** The PostgreSQL URL to bench against, or undefined. */
function databaseUrl() {
  return process.env.COFFER_BENCH_DATABASE_URL || process.env.COFFER_TEST_DATABASE_URL || undefined;
}

function withSchema(url, schema) {
  const u = new URL(url);
  u.searchParams.set('schema', schema);
  return u.toString();
}

async function dropSchema(url, schema) {
  const { Client } = requireHere('pg');
  const u = new URL(url);
  u.searchParams.delete('schema');
  const client = new Client({ connectionString: u.toString() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Starts coffer serve (of the build `cli`) on a prepared vault; a target for measureInterleaved. */
async function startCoffer(ctx, label, env, dir, serveArgs = [], cli = DIST_CLI) {
  ctx.log(`serve: ${label}: preparing the vault`);
  const token = prepareVault(env, cli);
  const server = await startServer(
    `coffer serve (${label})`,
    [cli, 'serve', '--port', '0', ...serveArgs],
    env,
    join(dir, 'serve.log'),
  );
  const url = `${server.url}/v1/secrets/${SECRET}?env=dev`;
  const headers = { authorization: `Bearer ${token}` };
  try {
    const check = await fetch(url, { headers });
    const body = await check.json();
    if (check.status !== 200 || body.value !== VALUE) {
      throw new Error(
        `${label}: GET of the bench secret did not return its value (${check.status})`,
      );
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { label, server, url, headers, env, cli };
}

/** After the server stopped: `coffer audit verify` passes, with a record per answered read. */
function checkAudit(label, env, cells, cli) {
  const report = JSON.parse(coffer(['audit', 'verify', '--json'], env, undefined, cli));
  const answered = cells.reduce((n, c) => n + c.ok, 0);
  if (report.ok !== true || !(report.records >= answered)) {
    throw new Error(
      `${label}: audit verify: ok=${report.ok}, ${report.records} records for ${answered} answered reads`,
    );
  }
  return report.records;
}

export async function run(ctx) {
  // Against a baseline, more rounds: the within-10 % verdict needs medians that a noisy
  // round (a neighbour on a shared machine) does not move that far.
  const rounds = ctx.quick ? 2 : ctx.baseline ? 6 : 3;
  const seconds = ctx.quick ? 1 : 2;
  const masterKey = randomBytes(32).toString('base64');
  const pgUrl = databaseUrl();
  const schema = `bench_serve_${randomBytes(6).toString('hex')}`;
  const schemas = [];

  // Each coffer target: `kind` (sqlite, synced, postgres) and `build` (current, baseline);
  // a baseline target follows its current twin, so that they run next to each other.
  const targets = [];
  const results = new Map();
  let bareCells;
  let bareRss;
  try {
    const bareDir = ctx.scratch.sub('serve-bare');
    const bare = await startServer(
      'bare node:http',
      ['-e', BARE_SERVER],
      childEnv(bareDir),
      join(bareDir, 'server.log'),
    );
    targets.push({ label: 'bare node:http', server: bare, url: `${bare.url}/`, headers: {} });
    const builds = [{ build: 'current', cli: DIST_CLI, suffix: '' }];
    if (ctx.baseline) {
      builds.push({ build: 'baseline', cli: ctx.baseline.cli, suffix: ` ${BASELINE_TAG}` });
    }
    /** coffer serve of each build on a fresh vault file in `dirName`, started with `args`. */
    const onSqlite = async (kind, label, dirName, args = []) => {
      for (const { build, cli, suffix } of builds) {
        const dir = ctx.scratch.sub(`${dirName}${build === 'current' ? '' : `-${build}`}`);
        const env = childEnv(dir, { COFFER_MASTER_KEY: masterKey });
        const t = await startCoffer(ctx, `${label}${suffix}`, env, dir, args, cli);
        targets.push({ ...t, kind, build });
      }
    };
    await onSqlite('sqlite', 'SQLite', 'serve-sqlite');
    await onSqlite('synced', 'SQLite, --sync-reads', 'serve-sqlite-sync', ['--sync-reads']);
    if (pgUrl !== undefined) {
      for (const { build, cli, suffix } of builds) {
        const pgDir = ctx.scratch.sub(`serve-postgres${build === 'current' ? '' : `-${build}`}`);
        const own = build === 'current' ? schema : `${schema}_${build}`;
        schemas.push(own);
        const env = childEnv(pgDir, {
          COFFER_MASTER_KEY: masterKey,
          COFFER_DATABASE_URL: withSchema(pgUrl, own),
        });
        const t = await startCoffer(ctx, `PostgreSQL${suffix}`, env, pgDir, [], cli);
        targets.push({ ...t, kind: 'postgres', build });
      }
    } else {
      ctx.log(
        'serve: PostgreSQL skipped (set COFFER_BENCH_DATABASE_URL or COFFER_TEST_DATABASE_URL)',
      );
    }

    const cells = await measureInterleaved(ctx, targets, rounds, seconds);
    const rss = targets.map((t) => peakRssMiB(t.server.pid));
    for (const t of targets) await t.server.stop();
    bareCells = cells.get(targets[0]);
    bareRss = rss[0];
    for (const [i, t] of targets.entries()) {
      if (i === 0) continue;
      const tCells = cells.get(t);
      ctx.log(`serve: ${t.label}: coffer audit verify`);
      const auditRecords = checkAudit(t.label, t.env, tCells, t.cli);
      results.set(`${t.kind}/${t.build}`, { cells: tCells, rss: rss[i], auditRecords });
    }
  } finally {
    for (const t of targets) await t.server.stop();
    for (const own of schemas) await dropSchema(pgUrl, own);
  }
  const sqlite = results.get('sqlite/current');
  const synced = results.get('synced/current');
  const postgres = results.get('postgres/current');

  const rows = [];
  const memory = [];
  const addRows = (server, store, cells, rss, withTarget) => {
    for (const c of cells) {
      const share = c.share;
      const target =
        withTarget && c.connections === TARGET_SHARE_AT
          ? `>= ${TARGET_SHARE * 100} % of bare: ${share >= TARGET_SHARE ? 'met' : 'MISSED'}`
          : '';
      rows.push([
        server,
        store,
        fmtNum(c.connections),
        fmtRate(c.perSec),
        fmtMs(c.p50),
        fmtMs(c.p99),
        server === 'bare node:http' ? '100 %' : `${fmtNum(share * 100, 1)} %`,
        target,
      ]);
    }
    const rssTarget = withTarget
      ? `< ${TARGET_RSS_MIB} MiB: ${rss < TARGET_RSS_MIB ? 'met' : 'MISSED'}`
      : '';
    memory.push([server, store, `${fmtNum(rss, 1)} MiB`, rssTarget]);
  };
  /** The rows of a coffer target and, with --baseline, of its baseline twin. */
  const addCoffer = (server, store, key, withTarget) => {
    const r = results.get(`${key}/current`);
    addRows(server, store, r.cells, r.rss, withTarget);
    const b = results.get(`${key}/baseline`);
    if (b !== undefined) addRows(`${server} ${BASELINE_TAG}`, store, b.cells, b.rss, false);
  };
  addRows('bare node:http', '-', bareCells, bareRss, false);
  addCoffer('coffer serve', 'SQLite', 'sqlite', true);
  addCoffer('coffer serve --sync-reads', 'SQLite', 'synced', false);
  if (postgres !== undefined) {
    addCoffer('coffer serve', 'PostgreSQL', 'postgres', false);
  } else {
    const skipped = 'skipped: set COFFER_BENCH_DATABASE_URL';
    rows.push(['coffer serve', 'PostgreSQL', '', '', '', '', '', skipped]);
    memory.push(['coffer serve', 'PostgreSQL', '', skipped]);
  }

  const audited = [
    `SQLite ${fmtNum(sqlite.auditRecords)}`,
    `SQLite --sync-reads ${fmtNum(synced.auditRecords)}`,
  ];
  if (postgres !== undefined) audited.push(`PostgreSQL ${fmtNum(postgres.auditRecords)}`);
  const tables = [
    {
      title,
      columns: [
        { header: 'server', align: 'left' },
        { header: 'store', align: 'left' },
        { header: 'connections', align: 'right' },
        { header: 'req/s', align: 'right' },
        { header: 'p50 ms', align: 'right' },
        { header: 'p99 ms', align: 'right' },
        { header: 'vs bare', align: 'right' },
        { header: 'target', align: 'left' },
      ],
      rows,
      notes: [
        `autocannon, keep-alive, no pipelining, after a warm-up; ${rounds} interleaved rounds of ${seconds} s`,
        'per server and connection count (bare, then each coffer server, again); req/s = median of the',
        'rounds, p50/p99 over all answers; "vs bare" = median over rounds of req/s / bare req/s in the',
        'same round (bare node:http answering a fixed 200-byte body).',
        'coffer serve: GET /v1/secrets/... with a read-only, path-scoped bearer token: token check,',
        'policy, decryption, one audit record per read committed before the answer (reads that',
        'arrive together share a commit; SQLite: fsynced off the event loop within 10 ms, with',
        '--sync-reads before the answer; PostgreSQL: synchronous_commit=off), a pino log line per',
        'request.',
        `Audit records after the run (coffer audit verify passed): ${audited.join(', ')}.`,
      ],
    },
    {
      title: 'coffer serve: peak memory',
      columns: [
        { header: 'server', align: 'left' },
        { header: 'store', align: 'left' },
        { header: 'peak RSS', align: 'right' },
        { header: 'target', align: 'left' },
      ],
      rows: memory,
      notes: [
        'VmHWM of each server process after all its cells (1, 10 and 50 connections, every round).',
      ],
    },
  ];
  if (!ctx.baseline) return tables;
  const compared = [];
  const names = { sqlite: 'SQLite', synced: 'SQLite --sync-reads', postgres: 'PostgreSQL' };
  for (const [kind, store] of Object.entries(names)) {
    const cur = results.get(`${kind}/current`);
    const base = results.get(`${kind}/baseline`);
    if (cur === undefined || base === undefined) continue;
    for (const [i, c] of cur.cells.entries()) {
      const b = base.cells[i];
      const at = `${store}, ${c.connections} conn.`;
      compared.push(
        {
          label: `serve ${at}: req/s`,
          base: b.perSec,
          current: c.perSec,
          ratio: median(c.rates.map((rate, r) => rate / b.rates[r])),
          unit: 'req/s',
        },
        { label: `serve ${at}: p50`, base: b.p50, current: c.p50, unit: 'ms' },
        {
          label: `serve ${at}: server CPU per request`,
          base: b.cpuPerReq,
          current: c.cpuPerReq,
          ratio: median(c.cpuPerRound.map((us, r) => us / b.cpuPerRound[r])),
          unit: 'us',
        },
      );
    }
  }
  tables.push(
    comparisonTable('coffer serve', ctx.baseline, compared, [
      'req/s ratio: median over rounds of current / baseline req/s in the same round; p50: ratio',
      'of the p50 over all answers; server CPU per request: user + system CPU of the server',
      'process (/proc) over the answers of each round, ratio the median over rounds. On a shared',
      'or virtual machine req/s moves with the neighbours; CPU per request much less.',
    ]),
  );
  return tables;
}
