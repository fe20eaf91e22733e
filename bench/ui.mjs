/**
 * The web UI: time to render a project's secrets page with 500 secrets in three environments
 * (dev and staging have all 500, prod 450, so the page also marks 50 as missing), and the
 * page's weight: its HTML, the stylesheet and the script, each gzip-compressed as a
 * compressing proxy would send them.
 *
 * The server is the built binary (`dist/cli.cjs serve --port 0`) in a child process, logged in
 * with a list+read token through the login form; the page is fetched sequentially over one
 * loopback keep-alive connection, so the time is the server's render plus a loopback round
 * trip. Checks (a failure fails the bench): every secret has its row, and no value is in
 * the page.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DIST_CLI } from './env.mjs';
import { fmtMs, fmtNum, median, quantile } from './stats.mjs';

export const name = 'ui';
export const title = 'Web UI: a project page with 500 secrets x 3 environments';

const SECRETS = 500;
const TARGET_MS = 30;
const TARGET_KB = 60;

function coffer(args, env, input) {
  const r = spawnSync(process.execPath, [DIST_CLI, ...args], {
    env,
    input: input ?? '',
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) {
    throw new Error(
      `coffer ${args.slice(0, 2).join(' ')} failed (${r.status}): ${r.stderr.trim()}`,
    );
  }
  return r.stdout;
}

// Every third secret holds the same value in dev and prod, so the page's "same in dev and
// prod" column has both answers.
const secretValue = (i, env) =>
  `uibench-${i % 3 === 0 ? 'shared' : env}-${String(i).padStart(4, '0')}-${'v'.repeat(24)}`;

async function startServe(env) {
  const child = spawn(
    process.execPath,
    [DIST_CLI, 'serve', '--port', '0', '--log-level', 'silent'],
    {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error('coffer serve did not start within 20 s')),
      20_000,
    );
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl).trim());
      }
    });
    child.once('exit', (code) => reject(new Error(`coffer serve exited (${code})`)));
  });
  child.removeAllListeners('exit');
  return {
    url,
    pid: child.pid,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** CPU seconds (user + system) of process `pid` so far, from /proc (Linux). */
function processCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout) || 100;
})();

export async function run(ctx) {
  const home = ctx.scratch.sub('ui');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    COFFER_HOME: home,
    COFFER_MASTER_KEY: randomBytes(32).toString('base64'),
  };
  coffer(['init'], env);
  for (const [e, count] of [
    ['dev', SECRETS],
    ['staging', SECRETS],
    ['prod', SECRETS - 50],
  ]) {
    const file = join(home, `${e}.env`);
    const lines = [];
    for (let i = 0; i < count; i++) {
      lines.push(`SERVICE_${String(i).padStart(4, '0')}_KEY=${secretValue(i, e)}`);
    }
    writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
    coffer(
      [
        ...['env', 'import', file, '--project', 'uibench', '--env', e],
        '-d',
        '{key} of the UI bench',
      ],
      env,
    );
  }
  const created = JSON.parse(
    coffer(['token', 'create', '--name', 'ui-bench', '--cap', 'list,read', '--json'], env),
  );
  const server = await startServe(env);
  try {
    const login = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: new URLSearchParams({ token: created.token }).toString(),
      redirect: 'manual',
    });
    const cookie = /coffer_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')?.[0];
    if (login.status !== 303 || cookie === undefined) {
      throw new Error(`the UI login failed (${login.status})`);
    }
    const page = `${server.url}/p/project/uibench`;
    const timing = { list: [], render: [], cpu: [] };
    const get = async (url, headers = { cookie }) => {
      const res = await fetch(url, { headers });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`);
      for (const m of (res.headers.get('server-timing') ?? '').matchAll(/(\w+);dur=([\d.]+)/g)) {
        timing[m[1]]?.push(Number(m[2]));
      }
      return text;
    };
    const api = `${server.url}/v1/secrets?prefix=project/uibench&includeDeleted=true`;
    const apiHeaders = { authorization: `Bearer ${created.token}` };
    const rounds = ctx.quick ? 5 : 60;
    for (let i = 0; i < 5; i++) {
      await get(page);
      await get(api, apiHeaders);
    }
    timing.list.length = 0;
    timing.render.length = 0;
    timing.cpu.length = 0;
    const times = [];
    const apiTimes = [];
    let html = '';
    let pageCpu = 0;
    for (let i = 0; i < rounds; i++) {
      // Interleaved with the API's list of the same secrets, so load moves both alike.
      const c0 = processCpuSeconds(server.pid);
      let t0 = performance.now();
      html = await get(page);
      times.push(performance.now() - t0);
      pageCpu += processCpuSeconds(server.pid) - c0;
      t0 = performance.now();
      await get(api, apiHeaders);
      apiTimes.push(performance.now() - t0);
    }
    // The server process's whole CPU time per page (HTTP, writing the answer and GC included),
    // at the clock-tick resolution of /proc, averaged over the rounds.
    const processCpuMs = (pageCpu / rounds) * 1000;
    const rows = html.match(/<tr><th scope="row">/g)?.length ?? 0;
    if (rows !== SECRETS) throw new Error(`the page has ${rows} rows, not ${SECRETS}`);
    const same = html.match(/<td class="same">/g)?.length ?? 0;
    // 0, 3, ..., 447 are in prod too: 150 hold the same value there.
    if (same !== 150) throw new Error(`the page marks ${same} secrets as same in dev and prod`);
    if (html.includes('uibench-')) throw new Error('a value is in the project page');
    const css = await get(`${server.url}/ui/app.css`);
    const js = await get(`${server.url}/ui/app.js`);
    const size = (s) => Buffer.byteLength(s);
    const gz = (s) => gzipSync(s).length;
    const total = gz(html) + gz(css) + gz(js);
    const kb = (n) => `${fmtNum(n / 1024, 1)} KB`;
    const med = median(times);
    const cpuMed = median(timing.cpu);
    return {
      title,
      columns: [
        { header: 'measure', align: 'left' },
        { header: 'result', align: 'right' },
        { header: 'target', align: 'right' },
        { header: 'ok', align: 'left' },
      ],
      rows: [
        [
          'server CPU time for the page, median (process.cpuUsage, Server-Timing)',
          fmtMs(cpuMed),
          `< ${TARGET_MS} ms`,
          cpuMed < TARGET_MS ? 'yes' : 'NO',
        ],
        [
          'server process CPU time per page, mean (/proc: HTTP, answer and GC included)',
          fmtMs(processCpuMs),
          `< ${TARGET_MS} ms`,
          processCpuMs < TARGET_MS ? 'yes' : 'NO',
        ],
        [
          'page time, median (render + loopback round trip, wall)',
          fmtMs(med),
          `< ${TARGET_MS} ms`,
          med < TARGET_MS ? 'yes' : 'NO (load)',
        ],
        ['page time, p95', fmtMs(quantile(times, 0.95)), '', ''],
        ['  of which the vault reads (server wall, median)', fmtMs(median(timing.list)), '', ''],
        ['  of which the rendering (server wall, median)', fmtMs(median(timing.render)), '', ''],
        [
          'same list as JSON from the API (GET /v1/secrets), median',
          fmtMs(median(apiTimes)),
          '',
          '',
        ],
        ['HTML (raw / gzip)', `${kb(size(html))} / ${kb(gz(html))}`, '', ''],
        ['CSS (raw / gzip)', `${kb(size(css))} / ${kb(gz(css))}`, '', ''],
        ['JS (raw / gzip)', `${kb(size(js))} / ${kb(gz(js))}`, '', ''],
        [
          'page weight, gzip (HTML + CSS + JS)',
          kb(total),
          `< ${TARGET_KB} KB`,
          total < TARGET_KB * 1024 ? 'yes' : 'NO',
        ],
      ],
      notes: [
        `${rounds} sequential GETs of /p/project/uibench by a list+read session, after 5 warm-up GETs;`,
        'each lists 1,450 secret rows with their rotation state in one audited transaction, brings the',
        'last-read index up to date from the audit log, compares dev and prod by keyed digests (cached',
        'by version after the first GET) and renders 500 table rows.',
        'Server CPU time is the whole process (GC and helper threads included) over the handler;',
        'the wall times move with the load of the machine, CPU time much less.',
        'coffer serve does not compress; the weight is what a compressing proxy would send.',
        `Times in ms; load average during the run: ${loadavg()
          .map((x) => x.toFixed(1))
          .join(' ')} on ${cpus().length} cores.`,
      ],
    };
  } finally {
    await server.stop();
  }
}
