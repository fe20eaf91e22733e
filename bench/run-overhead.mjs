/**
 * `coffer run` overhead: starting `node -e 0` with a 50-secret project injected, beside
 * plain `node -e 0`, `node -r dotenv/config`, dotenv's own `dotenv run`, and `dotenvx run`
 * with a plain and an encrypted .env holding the same 50 variables. coffer decrypts 50
 * values from the vault (and audits 50 reads); dotenv decrypts nothing.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { commandComparisons, comparisonTable, withTwins } from './baseline.mjs';
import { DIST_CLI, ROOT } from './env.mjs';
import { COMMAND_COLUMNS, cleanEnv, compareCommands, spawnTimed } from './spawn.mjs';

export const name = 'run';
export const title = '`run` overhead: node -e 0 with 50 injected secrets';

const require = createRequire(join(ROOT, 'package.json'));
const DOTENV_CLI = join(dirname(require.resolve('dotenv/package.json')), 'dist', 'cli.cjs');
const DOTENVX_CLI = join(
  dirname(require.resolve('@dotenvx/dotenvx/package.json')),
  'src',
  'cli',
  'dotenvx.js',
);
const COUNT = 50;

/** The project's variables as .env lines. */
function envLines() {
  const lines = [];
  for (let i = 0; i < COUNT; i++) lines.push(`SECRET_${i}=value-${i}-${'x'.repeat(24)}`);
  return lines;
}

/** A vault in `home` holding the 50 secrets, made by the build's binary `cli`. */
function makeVault(ctx, cli, home, lines) {
  const env = cleanEnv({ COFFER_HOME: join(home, 'vault') });
  spawnTimed([cli, 'init'], env);
  ctx.log(`run: storing ${COUNT} secrets`);
  // One import instead of 50 processes: the .env holds the same variables.
  writeFileSync(
    join(home, 'import.env'),
    lines.map((l, i) => `# Bench secret number ${i} for the run benchmark\n${l}`).join('\n'),
  );
  spawnTimed([cli, 'env', 'import', join(home, 'import.env'), '--project', 'bench'], env);
  return env;
}

export async function run(ctx) {
  const home = ctx.scratch.sub('run');
  const lines = envLines();
  const env = makeVault(ctx, DIST_CLI, home, lines);
  const plainDir = join(home, 'plain');
  const encDir = join(home, 'encrypted');
  for (const d of [plainDir, encDir]) {
    spawnSync('mkdir', ['-p', d]);
    writeFileSync(join(d, '.env'), `${lines.join('\n')}\n`);
  }
  spawnTimed([DOTENVX_CLI, 'encrypt', '-f', '.env'], cleanEnv({}), undefined, encDir);

  const node = process.execPath;
  const probe = `process.stdout.write(String(Object.keys(process.env).filter(k=>k.startsWith('SECRET_')).length)+'\\n')`;
  const base = cleanEnv({});
  const list = [
    { label: 'node -e 0', args: ['-e', '0'], env: base, baseline: true },
    {
      label: 'node -r dotenv/config -e 0',
      args: ['-r', require.resolve('dotenv/config'), '-e', probe],
      env: base,
      cwd: plainDir,
      expect: String(COUNT),
    },
    {
      label: 'dotenv run -- node -e 0',
      args: [DOTENV_CLI, 'run', '-q', '--', node, '-e', probe],
      env: base,
      cwd: plainDir,
      expect: String(COUNT),
      ref: true,
    },
    {
      label: 'dotenvx run -- node -e 0 (plain)',
      args: [DOTENVX_CLI, 'run', '-q', '--', node, '-e', probe],
      env: base,
      cwd: plainDir,
      expect: String(COUNT),
    },
    {
      label: 'dotenvx run -- node -e 0 (encrypted)',
      args: [DOTENVX_CLI, 'run', '-q', '--', node, '-e', probe],
      env: base,
      cwd: encDir,
      expect: String(COUNT),
    },
    {
      label: 'coffer run -- node -e 0 (vault, output masked)',
      args: [DIST_CLI, 'run', '-p', 'bench', '--', node, '-e', probe],
      env,
      expect: String(COUNT),
      coffer: true,
    },
    {
      label: 'coffer run --no-mask -- node -e 0 (vault)',
      args: [DIST_CLI, 'run', '--no-mask', '-p', 'bench', '--', node, '-e', probe],
      env,
      expect: String(COUNT),
    },
  ];
  const commands = withTwins(list, ctx.baseline, (c) => {
    const cli = ctx.baseline.cli;
    const baseEnv = makeVault(ctx, cli, ctx.scratch.sub('run-baseline'), lines);
    return { ...c, args: [cli, ...c.args.slice(1)], env: baseEnv };
  });
  const rounds = ctx.quick ? 5 : 20;
  const rows = compareCommands(commands, { warmup: 2, rounds });
  // A second ratio column against `dotenv run`, the reference (target <= 1.1x).
  const med = (c) => [...c.samples].sort((a, b) => a - b)[Math.floor(c.samples.length / 2)];
  const ref = med(commands.find((c) => c.ref));
  for (let i = 0; i < rows.length; i++) {
    const ratio = med(commands[i]) / ref;
    rows[i].push(`${ratio.toFixed(2)}x`);
    if (commands[i].args[0] === DIST_CLI)
      rows[i][5] = `<= 1.1x dotenv run: ${ratio <= 1.1 ? 'met' : 'NOT met'}`;
  }
  const table = {
    title,
    columns: [...COMMAND_COLUMNS('node -e 0'), { header: 'vs dotenv run', align: 'right' }],
    rows,
    notes: [
      `${rounds} interleaved rounds after 2 warm-up rounds; every command runs a child node that counts the ${COUNT} SECRET_* variables.`,
      'coffer run: opens the vault, unwraps and decrypts 50 values, writes 50 audit records (one fsync), then spawns.',
      "Output masked: the bench captures the child's output in a pipe, so coffer masks it (the default when not a terminal): the masker is loaded and built after the spawn.",
      'dotenvx encrypted: the same .env after `dotenvx encrypt` (ECIES per value), key from .env.keys.',
    ],
  };
  if (!ctx.baseline) return table;
  return [table, comparisonTable('`run` overhead', ctx.baseline, commandComparisons(commands))];
}
