/**
 * The manifest: `coffer setup --env dev --write-env` for a 50-variable manifest (the first run
 * generates and stores 50 secrets and writes .env; the second finds everything in place and
 * changes nothing), and `coffer run --dotenv FILE` with a 50-reference .env file
 * (`NAME=coffer://project/bench/name`, as `coffer env pull --references` writes it) beside
 * `coffer run --project` over the same 50 secrets, `dotenv run` and `node -e 0`, interleaved in
 * the same run. Target: references cost at most 5 % over `run --project`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DIST_CLI, ROOT } from './env.mjs';
import { cleanEnv, compareCommands, spawnTimed } from './spawn.mjs';
import { fmtMs, median, quantile } from './stats.mjs';

export const name = 'manifest';
export const title = 'Manifest: `coffer setup` and `coffer run` with references';

const require = createRequire(join(ROOT, 'package.json'));
const DOTENV_CLI = join(dirname(require.resolve('dotenv/package.json')), 'dist', 'cli.cjs');
const COUNT = 50;
const TARGET_REFERENCES = 1.05;
const SPECS = ['hex:32', 'base64:32', 'urlsafe:32', 'password:24', 'fernet'];

/** A 50-variable manifest: 40 generated (tiers 1 and 3), 10 asked (exported by the bench). */
function manifestText() {
  const lines = ['project: bench', 'environments: [dev, prod]', 'variables:'];
  for (let i = 0; i < COUNT; i++) {
    lines.push(`  VAR_${i}:`);
    lines.push(`    description: Bench variable number ${i} that the setup benchmark stores`);
    if (i % 5 === 4) {
      lines.push('    tier: 2', '    source: ask');
    } else {
      lines.push(`    tier: ${i % 5 === 3 ? 3 : 1}`);
      lines.push(`    source: { generate: "${SPECS[i % SPECS.length]}" }`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The values of the asked variables, as a deploy would export them. */
function askedValues() {
  const out = {};
  for (let i = 4; i < COUNT; i += 5) out[`VAR_${i}`] = `asked-value-${i}-${'y'.repeat(20)}`;
  return out;
}

/** A fresh vault and project directory holding the manifest (not timed). */
function freshProject(ctx, label) {
  const home = ctx.scratch.sub(label);
  const env = cleanEnv({ COFFER_HOME: join(home, 'vault'), ...askedValues() });
  spawnTimed([DIST_CLI, 'init'], env);
  const dir = join(home, 'project');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'coffer.yaml'), manifestText());
  return { env, dir };
}

const SETUP = [DIST_CLI, 'setup', '--env', 'dev', '--write-env', '--json'];

function setupTable(ctx) {
  const rounds = ctx.quick ? 3 : 10;
  const first = [];
  const second = [];
  for (let r = 0; r < rounds; r++) {
    const { env, dir } = freshProject(ctx, `manifest-setup-${r}`);
    const a = spawnTimed(SETUP, env, undefined, dir);
    const steps = JSON.parse(a.stdout).steps;
    if (steps.filter((s) => s.action === 'generate').length !== 40) {
      throw new Error('setup: the first run did not generate the 40 generated variables');
    }
    first.push(a.ms);
    const b = spawnTimed(SETUP, env, undefined, dir);
    const again = JSON.parse(b.stdout);
    if (again.dotenv.written || again.steps.some((s) => s.action !== 'keep')) {
      throw new Error('setup: the second run changed something');
    }
    second.push(b.ms);
  }
  const row = (label, samples) => [
    label,
    fmtMs(median(samples)),
    fmtMs(quantile(samples, 0.9)),
    fmtMs(Math.min(...samples)),
    fmtMs(median(samples) / COUNT),
  ];
  return {
    title: '`coffer setup --env dev --write-env`, 50-variable manifest',
    columns: [
      { header: 'run', align: 'left' },
      { header: 'median ms', align: 'right' },
      { header: 'p90 ms', align: 'right' },
      { header: 'min ms', align: 'right' },
      { header: 'ms / variable', align: 'right' },
    ],
    rows: [
      row('first (generates 40, stores 10 exported, writes .env)', first),
      row('second (everything kept, .env unchanged)', second),
    ],
    notes: [
      `${rounds} rounds, each on a fresh vault (coffer init not timed); the second run reads the 50 values back to compare them with .env.`,
    ],
  };
}

function runTable(ctx) {
  const { env, dir } = freshProject(ctx, 'manifest-run');
  spawnTimed([DIST_CLI, 'setup', '--env', 'dev', '--write-env'], env, undefined, dir);
  // The reference file as coffer writes it; the plain .env (values) for dotenv.
  spawnTimed(
    [DIST_CLI, 'env', 'pull', '--references', '--project', 'bench', '--file', '.env.refs'],
    env,
    undefined,
    dir,
  );
  const clean = cleanEnv({ COFFER_HOME: env.COFFER_HOME });
  const node = process.execPath;
  const probe = `process.stdout.write(String(Object.keys(process.env).filter(k=>k.startsWith('VAR_')).length)+'\\n')`;
  const commands = [
    { label: 'node -e 0', args: ['-e', '0'], env: clean, baseline: true },
    {
      label: 'dotenv run -- node (50 values)',
      args: [DOTENV_CLI, 'run', '-q', '--', node, '-e', probe],
      env: clean,
      cwd: dir,
      expect: String(COUNT),
    },
    {
      label: 'coffer run --project bench -- node',
      args: [DIST_CLI, 'run', '--project', 'bench', '--', node, '-e', probe],
      env: clean,
      cwd: dir,
      expect: String(COUNT),
      project: true,
    },
    {
      label: 'coffer run --dotenv .env.refs -- node (50 references)',
      args: [DIST_CLI, 'run', '--dotenv', '.env.refs', '--', node, '-e', probe],
      env: clean,
      cwd: dir,
      expect: String(COUNT),
      references: true,
    },
  ];
  const rounds = ctx.quick ? 5 : 30;
  const rows = compareCommands(commands, { warmup: 2, rounds });
  // The ratio to run --project is the median of same-round ratios: the commands of one
  // round ran back to back, so a machine that slows down moves both alike.
  const project = commands.find((c) => c.project).samples;
  for (let i = 0; i < rows.length; i++) {
    const ratio = median(commands[i].samples.map((ms, r) => ms / project[r]));
    rows[i].push(`${ratio.toFixed(3)}x`);
    if (commands[i].references) {
      rows[i][5] =
        `<= ${TARGET_REFERENCES}x run --project: ${ratio <= TARGET_REFERENCES ? 'met' : 'NOT met'}`;
    }
  }
  return {
    title: '`coffer run` with a 50-reference .env file',
    columns: [
      { header: 'command', align: 'left' },
      { header: 'median ms', align: 'right' },
      { header: 'p90 ms', align: 'right' },
      { header: 'min ms', align: 'right' },
      { header: 'vs node -e 0', align: 'right' },
      { header: 'target', align: 'left' },
      { header: 'vs run --project', align: 'right' },
    ],
    rows,
    notes: [
      `${rounds} interleaved rounds after 2 warm-up rounds; every command starts a child node that counts the ${COUNT} VAR_* variables it was given.`,
      '"vs run --project" is the median of the per-round ratios (the commands of a round run back to back).',
      '.env.refs is `coffer env pull --references` output: one coffer://project/bench/var_N reference per variable, resolved in one audited batch.',
    ],
  };
}

export async function run(ctx) {
  ctx.log('manifest: setup, first and second run');
  const setup = setupTable(ctx);
  ctx.log('manifest: run with references');
  return [setup, runTable(ctx)];
}
