/**
 * `coffer mcp` round trips: get_secret and list_secrets called through the MCP SDK's stdio
 * client against the built server (dist/cli.cjs mcp), one call at a time, beside the same
 * operations through the library API (Vault.get, Vault.list) on the same vault file.
 *
 * Each MCP call is a JSON-RPC request over the child's stdin/stdout, the SDK's argument
 * validation, the vault operation (one write transaction with its audit record and an fsync)
 * and one stderr log line; the library rows are the vault operation alone.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DIST_CLI, loadCoffer } from './env.mjs';
import { fmtMs, fmtNum, fmtRatio, median, quantile } from './stats.mjs';

export const name = 'mcp';
export const title = 'MCP round trip over stdio (coffer mcp) vs the library API';

const PROJECT = 'bench';
const KEY = `project/${PROJECT}/stripe_api_key`;
const VALUE = 'sk_test_bench_0123456789abcdefghijklmnopqrstuvwxyz';

/** Milliseconds of each of `n` sequential calls of `fn` (after `warm` untimed calls). */
async function sample(n, warm, fn) {
  for (let i = 0; i < warm; i++) await fn();
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

async function startClient(dir, masterKey) {
  const { Client } = await import('@modelcontextprotocol/client');
  const { StdioClientTransport } = await import('@modelcontextprotocol/client/stdio');
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [DIST_CLI, 'mcp', '--allow', `project/${PROJECT}/*`],
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

export async function run(ctx) {
  const { Vault, initVault, openSqliteStorage } = await loadCoffer();
  const dir = ctx.scratch.sub('mcp');
  const calls = ctx.quick ? 100 : 1000;
  const warm = ctx.quick ? 10 : 50;

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
        description: `Bench secret ${n} of the bench project`,
      },
    );
  }

  const client = await startClient(dir, masterKey);
  const rows = [];
  try {
    const getArgs = { name: 'get_secret', arguments: { keyPath: KEY } };
    const listArgs = { name: 'list_secrets', arguments: { scope: 'project', project: PROJECT } };
    const check = await client.callTool(getArgs);
    if (check.structuredContent?.value !== VALUE) throw new Error('get_secret round trip failed');
    const listed = await client.callTool(listArgs);
    if (listed.structuredContent?.secrets?.length !== 5) throw new Error('list_secrets failed');

    ctx.log(`mcp: ${calls} get_secret calls over stdio`);
    const mcpGet = await sample(calls, warm, () => client.callTool(getArgs));
    ctx.log(`mcp: ${calls} list_secrets calls over stdio`);
    const mcpList = await sample(calls, warm, () => client.callTool(listArgs));
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
  } finally {
    await client.close();
    vault.close();
    await storage.close();
  }

  return {
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
}
