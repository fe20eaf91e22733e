/**
 * `request_secret` round trip excluding the human: the MCP SDK's stdio client calls
 * request_secret on the built `coffer mcp` (no URL elicitation: it gets the link), then plays
 * the user at once (GET the page, POST the value with the page's CSRF field) and calls
 * request_status until it says stored. Locally (the page on 127.0.0.1) and in remote mode
 * (the page on `coffer serve`, the state in its store, the MCP server polling it), beside
 * set_secret through the same server (the same value stored without a page), one call at a
 * time. A person takes seconds to paste a value; this is what coffer adds to that.
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { DIST_CLI } from './env.mjs';
import { cleanEnv, spawnTimed } from './spawn.mjs';
import { fmtMs, quantile } from './stats.mjs';

const median = (xs) => quantile(xs, 0.5);

export const name = 'request';
export const title = 'request_secret round trip (the human excluded) vs set_secret, over MCP stdio';

const PROJECT = 'bench';
const DESCRIPTION = 'Stripe API key for payment processing in the bench';

function http(method, url, headers = {}, body) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let text = '';
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function startClient(env) {
  const { Client } = await import('@modelcontextprotocol/client');
  const { StdioClientTransport } = await import('@modelcontextprotocol/client/stdio');
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [DIST_CLI, 'mcp', '--allow', `project/${PROJECT}/*`],
    env,
    stderr: 'ignore',
  });
  const client = new Client({ name: 'coffer-bench', version: '1' });
  await client.connect(transport);
  return client;
}

/** One request_secret round trip: ask, open the page, submit, poll until stored. */
async function roundTrip(client, i) {
  const keyPath = `project/${PROJECT}/key_${i % 20}`;
  const r = await client.callTool({
    name: 'request_secret',
    arguments: { keyPath, description: DESCRIPTION },
  });
  const { url, requestId } = r.structuredContent ?? {};
  if (typeof url !== 'string') throw new Error(`request_secret failed: ${JSON.stringify(r)}`);
  const page = await http('GET', url);
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
  if (page.status !== 200 || csrf === undefined) throw new Error(`page: ${page.status}`);
  const form = new URLSearchParams({ csrf, action: 'store', value: `sk_bench_${i}_0123456789` });
  const posted = await http(
    'POST',
    url,
    { Origin: new URL(url).origin, 'Content-Type': 'application/x-www-form-urlencoded' },
    form.toString(),
  );
  if (posted.status !== 200) throw new Error(`submit: ${posted.status}`);
  for (;;) {
    const s = await client.callTool({ name: 'request_status', arguments: { requestId } });
    if (s.structuredContent?.status === 'stored') return;
    if (s.structuredContent?.status !== 'opened') throw new Error('request not stored');
  }
}

async function setSecret(client, i) {
  const r = await client.callTool({
    name: 'set_secret',
    arguments: {
      keyPath: `project/${PROJECT}/set_${i % 20}`,
      value: `sk_bench_${i}_0123456789`,
      description: DESCRIPTION,
    },
  });
  if (r.isError) throw new Error('set_secret failed');
}

async function timeEach(n, fn) {
  for (let i = 0; i < 3; i++) await fn(1000 + i);
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

function startServe(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [DIST_CLI, 'serve', '--port', '0', '--log-level', 'warn'],
      {
        env,
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ url: out.slice(0, nl).trim(), child });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`coffer serve exited with ${code}`)));
  });
}

export async function run(ctx) {
  const n = ctx.quick ? 5 : 40;
  const load = [loadavg()[0]];
  const local = ctx.scratch.sub('request-local');
  const localEnv = cleanEnv({ COFFER_HOME: join(local, 'vault') });
  spawnTimed([DIST_CLI, 'init'], localEnv);
  const rows = [];
  const client = await startClient(localEnv);
  try {
    ctx.log('request: local request_secret round trips');
    const req = await timeEach(n, (i) => roundTrip(client, i));
    const set = await timeEach(n, (i) => setSecret(client, i));
    rows.push(['local: set_secret (the value from the agent)', set]);
    rows.push(['local: request_secret, page on 127.0.0.1, request_status', req]);
  } finally {
    await client.close();
  }

  const server = ctx.scratch.sub('request-serve');
  const serverEnv = cleanEnv({ COFFER_HOME: join(server, 'vault') });
  spawnTimed([DIST_CLI, 'init'], serverEnv);
  const made = spawnTimed(
    [
      DIST_CLI,
      'token',
      'create',
      '--name',
      'bench',
      '--allow',
      `project/${PROJECT}/*`,
      '--cap',
      'read,list,write',
      '--json',
    ],
    serverEnv,
  );
  const token = JSON.parse(made.stdout).token;
  const serve = await startServe(serverEnv);
  const agentHome = ctx.scratch.sub('request-agent');
  const remote = await startClient(
    cleanEnv({ COFFER_HOME: join(agentHome, 'none'), COFFER_URL: serve.url, COFFER_TOKEN: token }),
  );
  try {
    ctx.log('request: remote request_secret round trips');
    const req = await timeEach(n, (i) => roundTrip(remote, i));
    const set = await timeEach(n, (i) => setSecret(remote, i));
    rows.push(['remote: set_secret through coffer serve', set]);
    rows.push(['remote: request_secret, page on coffer serve, request_status', req]);
  } finally {
    await remote.close();
    serve.child.removeAllListeners('exit');
    serve.child.kill('SIGTERM');
  }
  load.push(loadavg()[0]);
  return {
    title,
    columns: [
      { header: 'operation', align: 'left' },
      { header: 'calls', align: 'right' },
      { header: 'median', align: 'right' },
      { header: 'p90', align: 'right' },
    ],
    rows: rows.map(([label, xs]) => [
      label,
      String(xs.length),
      fmtMs(median(xs)),
      fmtMs(quantile(xs, 0.9)),
    ]),
    notes: [
      'request_secret: the tool call, GET of the page, POST of the form, then request_status calls until stored (one is usually enough locally; remote mode polls the server).',
      'set_secret stores the same kind of value in one tool call (it includes reading the value back to verify it). The difference is the cost of keeping the value out of the chat, next to the seconds a person takes.',
      `Load average (1 min) at the start and end of this section: ${load.map((l) => l.toFixed(2)).join(' and ')} on ${availableParallelism()} cores (wall times on a shared machine).`,
    ],
  };
}
