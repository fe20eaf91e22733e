/**
 * CLI start-up: wall time of short `coffer` commands against `node -e 0`.
 *
 * Every sample is one spawnSync of a fresh process. The commands are interleaved round by
 * round (the order rotating each round) so that they share the machine's noise; the ratio
 * is the median of the command over the median of `node -e 0` from the same rounds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandComparisons, comparisonTable, withTwins } from './baseline.mjs';
import { DIST_CLI } from './env.mjs';
import { COMMAND_COLUMNS, cleanEnv, compareCommands, spawnTimed } from './spawn.mjs';

export const name = 'cli';
export const title = 'CLI start-up (spawnSync wall time, fresh process per sample)';

const TARGET = 1.5;
const SECRET = 'project/bench/api_key';
const SECRET_VALUE = 'sk_test_bench_0123456789abcdefghijklmnopqrstuvwxyz';

/** A vault with a few secrets, created through the CLI itself (`cli`: the build's binary). */
function makeVault(home, cli = DIST_CLI) {
  const env = cleanEnv({ COFFER_HOME: home });
  spawnTimed([cli, 'init'], env);
  const secrets = [
    [SECRET, SECRET_VALUE, 'Stripe API key for payment processing in the bench'],
    ['project/bench/db_url', 'postgres://bench:pw@localhost/bench', 'Postgres URL of the bench db'],
    ['project/bench/webhook', 'whsec_bench_value', 'Webhook signing secret for bench events'],
    ['project/other/token', 'ghp_bench_token_value', 'GitHub token used by the release job'],
    ['meta/bench/note', 'a note value', 'Note about how the bench vault is built'],
  ];
  for (const [path, value, description] of secrets) {
    spawnTimed([cli, 'set', path, '--description', description], env, value);
  }
  const masterKey = readFileSync(join(home, 'master.key'), 'utf8').trim();
  return { env, masterKey };
}

/** The commands timed for one build: its binary `cli` on the vault in `home`. */
function commandsFor(cli, home) {
  const { env, masterKey } = makeVault(home, cli);
  const envKey = cleanEnv({ COFFER_HOME: home, COFFER_MASTER_KEY: masterKey });
  return [
    { label: 'coffer --version', args: [cli, '--version'], env, coffer: true },
    {
      label: `coffer get ${SECRET} (key file)`,
      args: [cli, 'get', SECRET],
      env,
      expect: SECRET_VALUE,
      target: TARGET,
      coffer: true,
    },
    {
      label: `coffer get ${SECRET} (COFFER_MASTER_KEY)`,
      args: [cli, 'get', SECRET],
      env: envKey,
      expect: SECRET_VALUE,
      target: TARGET,
      coffer: true,
    },
  ];
}

export async function run(ctx) {
  const plain = cleanEnv({});
  const current = commandsFor(DIST_CLI, ctx.scratch.sub('cli'));
  const base = ctx.baseline && commandsFor(ctx.baseline.cli, ctx.scratch.sub('cli-baseline'));
  const commands = withTwins(
    [{ label: 'node -e 0', args: ['-e', '0'], env: plain, baseline: true }, ...current],
    ctx.baseline,
    (c) => base[current.indexOf(c)],
  );

  const warmup = ctx.quick ? 2 : 5;
  const rounds = ctx.quick ? 8 : 30;
  const rows = compareCommands(commands, { warmup, rounds });
  const table = {
    title,
    columns: COMMAND_COLUMNS('node -e 0'),
    rows,
    notes: [
      `${rounds} interleaved rounds after ${warmup} warm-up rounds; ratio = median / median of node -e 0.`,
      'Vault: 5 secrets, created with `coffer init` + `coffer set`. `get` is a SQLite write',
      'transaction (audit record, synchronous=FULL fsync) in the measured time.',
    ],
  };
  if (!ctx.baseline) return table;
  return [table, comparisonTable('CLI start-up', ctx.baseline, commandComparisons(commands))];
}
