/**
 * `coffer mcp` round trips: get_secret and list_secrets called through the MCP SDK's stdio
 * client against the built server (dist/cli.cjs mcp), one call at a time, beside the same
 * operations through the library API (Vault.get, Vault.list) on the same vault file.
 *
 * Each MCP call is a JSON-RPC request over the child's stdin/stdout, the SDK's argument
 * validation, the vault operation (one write transaction with its audit record and an fsync)
 * and one stderr log line; the library rows are the vault operation alone. With --baseline,
 * the baseline's `coffer mcp` runs on a vault made by its own library, its calls alternating
 * with the current server's in blocks of 50.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BASELINE_TAG, comparisonTable } from './baseline.mjs';
import { DIST_CLI, loadCoffer } from './env.mjs';
import { fmtMs, fmtNum, fmtRatio, median, quantile } from './stats.mjs';

export const name = 'mcp';
export const title = 'MCP round trip over stdio (coffer mcp) vs the library API';

const PROJECT = 'bench';
const KEY = `project/${PROJECT}/stripe_api_key`;
const VALUE = 'sk_test_bench_0123456789abcdefghijklmnopqrstuvwxyz';

/** Milliseconds of each of `n` sequential calls of `fn` (after `warm` untimed calls). */
async function sample(n, warm, fn) {
  return (await sampleInterleaved(n, warm, [fn]))[0];
}

/**
 * sample() for several functions at once: `n` timed calls of each, in blocks of `block`
 * calls per function, one function after the other, so that they share the machine's noise.
 * With one function it is `n` sequential calls.
 */
async function sampleInterleaved(n, warm, fns, block = 50) {
  for (const fn of fns) for (let i = 0; i < warm; i++) await fn();
  const out = fns.map(() => []);
  for (let done = 0; done < n; done += block) {
    for (const [k, fn] of fns.entries()) {
      for (let i = done; i < Math.min(n, done + block); i++) {
        const t0 = performance.now();
        await fn();
        out[k].push(performance.now() - t0);
      }
    }
  }
  return out;
}

async function startClient(dir, masterKey, cli) {
  const { Client } = await import('@modelcontextprotocol/client');
  const { StdioClientTransport } = await import('@modelcontextprotocol/client/stdio');
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cli, 'mcp', '--allow', `project/${PROJECT}/*`],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      COFFER_HOME: dir,
      COFFER_MASTER_KEY: Buffer.from(masterKey).toString('base64'),
    },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'coffer-bench', version: '1' });
  await client.connect(transport);
  return client;
}

/** A vault of five secrets made with the library `lib` in `dir`, and an MCP client on it. */
async function setUp(lib, cli, dir) {
  const { Vault, initVault, openSqliteStorage } = lib;
  const masterKey = new Uint8Array(randomBytes(32));
  const storage = openSqliteStorage(join(dir, 'vault.db'), { create: true });
  await initVault(storage, { masterKey, keySource: 'key', actor: 'bench:init' });
  const vault = new Vault(storage, masterKey, { actor: 'bench:mcp' });
  const description = 'Stripe API key for payment processing in the bench';
  await vault.set(KEY, 'dev', VALUE, { description });
  for (const n of ['db_url', 'webhook_secret', 'jwt_secret', 'sendgrid_key']) {
    await vault.set(
      `project/${PROJECT}/${n}`,
      'dev',
      `bench-${n}-${randomBytes(8).toString('hex')}`,
      {
        description: `Bench fixture ${n} read by the MCP bench client`,
      },
    );
  }
  const client = await startClient(dir, masterKey, cli);
  return {
    vault,
    client,
    async close() {
      await client.close();
      vault.close();
      await storage.close();
    },
  };
}

const getArgs = { name: 'get_secret', arguments: { keyPath: KEY } };
const listArgs = { name: 'list_secrets', arguments: { scope: 'project', project: PROJECT } };

/** The functional check of a server: get_secret returns the value, list_secrets all five. */
async function check(client) {
  const got = await client.callTool(getArgs);
  if (got.structuredContent?.value !== VALUE) throw new Error('get_secret round trip failed');
  const listed = await client.callTool(listArgs);
  if (listed.structuredContent?.secrets?.length !== 5) throw new Error('list_secrets failed');
}

export async function run(ctx) {
  const calls = ctx.quick ? 100 : 1000;
  const warm = ctx.quick ? 10 : 50;
  const builds = [];
  const rows = [];
  const compared = [];
  try {
    builds.push(await setUp(await loadCoffer(), DIST_CLI, ctx.scratch.sub('mcp')));
    if (ctx.baseline) {
      const lib = await loadCoffer(ctx.baseline.index, ['Vault', 'initVault', 'openSqliteStorage']);
      builds.push(await setUp(lib, ctx.baseline.cli, ctx.scratch.sub('mcp-baseline')));
    }
    for (const b of builds) await check(b.client);
    const { vault } = builds[0];
    const clients = builds.map((b) => b.client);
    const also = ctx.baseline ? ' (and the baseline, interleaved)' : '';

    ctx.log(`mcp: ${calls} get_secret calls over stdio${also}`);
    const [mcpGet, baseGet] = await sampleInterleaved(
      calls,
      warm,
      clients.map((c) => () => c.callTool(getArgs)),
    );
    ctx.log(`mcp: ${calls} list_secrets calls over stdio${also}`);
    const [mcpList, baseList] = await sampleInterleaved(
      calls,
      warm,
      clients.map((c) => () => c.callTool(listArgs)),
    );
    ctx.log(`mcp: ${calls} library calls each`);
    const libGet = await sample(calls, warm, () => vault.get(KEY, 'dev'));
    const libList = await sample(calls, warm, () =>
      vault.list({ prefix: `project/${PROJECT}`, env: 'dev' }),
    );

    const row = (op, via, samples, base) => [
      op,
      via,
      fmtNum(samples.length),
      fmtMs(median(samples)),
      fmtMs(quantile(samples, 0.9)),
      fmtRatio(median(samples) / median(base)),
    ];
    rows.push(
      row('get one secret', 'library: vault.get', libGet, libGet),
      row('get one secret', 'MCP stdio: get_secret', mcpGet, libGet),
      row('list a project (5)', 'library: vault.list', libList, libList),
      row('list a project (5)', 'MCP stdio: list_secrets', mcpList, libList),
    );
    if (ctx.baseline) {
      rows.push(
        row('get one secret', `MCP stdio: get_secret ${BASELINE_TAG}`, baseGet, libGet),
        row('list a project (5)', `MCP stdio: list_secrets ${BASELINE_TAG}`, baseList, libList),
      );
      const pair = (label, current, base) => ({
        label,
        base: median(base),
        current: median(current),
        unit: 'ms',
      });
      compared.push(
        pair('MCP get_secret round trip', mcpGet, baseGet),
        pair('MCP list_secrets round trip (5)', mcpList, baseList),
      );
    }
  } finally {
    for (const b of builds) await b.close();
  }

  const table = {
    title,
    columns: [
      { header: 'operation', align: 'left' },
      { header: 'via', align: 'left' },
      { header: 'calls', align: 'right' },
      { header: 'median ms', align: 'right' },
      { header: 'p90 ms', align: 'right' },
      { header: 'vs library', align: 'right' },
    ],
    rows,
    notes: [
      `One call at a time after ${warm} warm-up calls; "vs library" = median / median of the library row.`,
      'Both paths write an audit record per call in a write transaction (fsync at COMMIT); the MCP',
      'path adds JSON-RPC over pipes, argument and output validation, and a stderr log line.',
    ],
  };
  if (!ctx.baseline) return table;
  return [
    table,
    comparisonTable('MCP round trip', ctx.baseline, compared, [
      `Calls alternate between the two servers in blocks of 50; the library rows are the current build's.`,
    ]),
  ];
}
