/**
 * `coffer sync --dry-run` of a project with 200 variables against a loopback stand-in of the
 * Heroku Platform API (GET /apps/{app}/config-vars) that holds 150 of them (100 equal, 50
 * changed) and 20 others: the whole command (start-up, 200 audited reads, the keyed
 * comparison), as a user runs it. The plan is checked.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { DIST_CLI, loadCoffer } from './env.mjs';
import { cleanEnv } from './spawn.mjs';
import { fmtMs, median, quantile } from './stats.mjs';

export const name = 'sync';
export const title = 'coffer sync --dry-run (200 variables, loopback Heroku API stand-in)';

const VARIABLES = 200;
const TOKEN = 'bench-token';

function timedCli(args, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [DIST_CLI, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0)
        reject(new Error(`coffer ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
      else resolve({ ms: performance.now() - t0, stdout });
    });
  });
}

export async function run(ctx) {
  const { Vault, initVault, openSqliteStorage } = await loadCoffer();
  const dir = ctx.scratch.sub('sync');
  const masterKey = new Uint8Array(randomBytes(32));
  const file = join(dir, 'vault.db');
  const storage = openSqliteStorage(file, { create: true });
  const remote = {};
  try {
    await initVault(storage, { masterKey, keySource: 'key', actor: 'bench:init' });
    const vault = new Vault(storage, masterKey, { actor: 'bench:sync' });
    try {
      const items = [];
      for (let i = 0; i < VARIABLES; i++) {
        const value = `value-${i}-${randomBytes(8).toString('hex')}`;
        items.push({
          path: `project/bench/var_${String(i).padStart(3, '0')}`,
          env: 'prod',
          value,
          options: { description: 'Deploy variable of the sync bench service' },
        });
        if (i < 100) remote[`VAR_${String(i).padStart(3, '0')}`] = value;
        else if (i < 150) remote[`VAR_${String(i).padStart(3, '0')}`] = 'old';
      }
      for (let i = 0; i < 20; i++) remote[`EXTRA_${i}`] = 'x';
      for (const it of items) await vault.set(it.path, it.env, it.value, it.options);
    } finally {
      vault.close();
    }
  } finally {
    await storage.close();
  }
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(remote));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  const env = cleanEnv({
    COFFER_HOME: dir,
    COFFER_MASTER_KEY: Buffer.from(masterKey).toString('base64'),
    COFFER_HEROKU_API_URL: url,
    HEROKU_API_KEY: TOKEN,
  });
  const args = [
    '--vault',
    file,
    'sync',
    '-p',
    'bench',
    '-e',
    'prod',
    '--target',
    'heroku',
    '--app',
    'bench',
    '--dry-run',
    '--json',
  ];
  const times = [];
  try {
    const rounds = ctx.quick ? 2 : 7;
    for (let i = 0; i < rounds + 1; i++) {
      const r = await timedCli(args, env);
      const plan = JSON.parse(r.stdout);
      if (
        plan.add.length !== 50 ||
        plan.change.length !== 50 ||
        plan.unchanged.length !== 100 ||
        plan.extra.length !== 20
      ) {
        throw new Error(
          `unexpected plan: ${JSON.stringify({ add: plan.add.length, change: plan.change.length, unchanged: plan.unchanged.length, extra: plan.extra.length })}`,
        );
      }
      if (i > 0) times.push(r.ms);
      ctx.log(`sync: round ${i} ${fmtMs(r.ms)} ms`);
    }
  } finally {
    await new Promise((r) => server.close(r));
  }
  return {
    title,
    columns: [
      { header: 'command', align: 'left' },
      { header: 'median', align: 'right' },
      { header: 'p90', align: 'right' },
      { header: 'min', align: 'right' },
    ],
    rows: [
      [
        'coffer sync --target heroku --dry-run (200 vars)',
        `${fmtMs(median(times))} ms`,
        `${fmtMs(quantile(times, 0.9))} ms`,
        `${fmtMs(Math.min(...times))} ms`,
      ],
    ],
    notes: [
      `${times.length} runs after one warm-up; plan checked each time: 50 to add, 50 to change, 100 unchanged, 20 only at the target.`,
      'Includes start-up, 200 audited reads in one transaction and the keyed comparison.',
    ],
  };
}
