#!/usr/bin/env node
/**
 * coffer's benchmark: `npm run bench` (builds first) or `node bench/run.mjs [--quick]
 * [--only=cli,library,rotation] [--baseline=DIR]`.
 *
 * `--baseline=DIR` names another coffer checkout with a built dist/ (e.g. a git worktree of
 * an older commit): the cli, run, mcp and serve sections then measure both builds in the
 * same run, interleaved, and add a table comparing them (see baseline.mjs).
 *
 * Speed is measured, not asserted: targets are printed beside the results, and the exit
 * code is non-zero only when something is functionally wrong (a command fails, a value
 * does not round-trip, a rotation leaves keys behind).
 *
 * Progress goes to stderr; the environment header and the tables go to stdout at the end.
 * A section is a module exporting `name`, `title` and `async run(ctx)` returning one table
 * (see table.mjs) or an array of tables; add new ones to SECTIONS.
 */
import * as backup from './backup.mjs';
import { openBaseline } from './baseline.mjs';
import * as cliStartup from './cli-startup.mjs';
import * as doctor from './doctor.mjs';
import * as dotenv from './dotenv.mjs';
import { environment, makeScratch, renderEnvironment, requireDist } from './env.mjs';
import * as envelope from './envelope.mjs';
import * as library from './library.mjs';
import * as manifest from './manifest.mjs';
import * as mcp from './mcp.mjs';
import * as redact from './redact.mjs';
import * as request from './request.mjs';
import * as rotate from './rotate.mjs';
import * as rotation from './rotation.mjs';
import * as runMask from './run-mask.mjs';
import * as runOverhead from './run-overhead.mjs';
import * as scan from './scan.mjs';
import * as serve from './serve.mjs';
import * as sync from './sync.mjs';
import { printTables } from './table.mjs';
import * as ui from './ui.mjs';

const SECTIONS = [
  cliStartup,
  runOverhead,
  runMask,
  library,
  rotation,
  rotate,
  backup,
  sync,
  envelope,
  redact,
  mcp,
  request,
  serve,
  manifest,
  dotenv,
  scan,
  doctor,
  ui,
];

function parseArgs(argv) {
  const opts = { quick: false, only: undefined, baseline: undefined };
  for (const arg of argv) {
    if (arg === '--quick') opts.quick = true;
    else if (arg.startsWith('--only=')) opts.only = arg.slice('--only='.length).split(',');
    else if (arg.startsWith('--baseline=') && arg.length > '--baseline='.length) {
      opts.baseline = arg.slice('--baseline='.length);
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        `usage: node bench/run.mjs [--quick] [--only=${SECTIONS.map((s) => s.name).join(',')}] [--baseline=DIR]\n`,
      );
      process.exit(0);
    } else {
      process.stderr.write(`bench: unknown argument ${arg}\n`);
      process.exit(2);
    }
  }
  if (opts.only) {
    const unknown = opts.only.filter((n) => !SECTIONS.some((s) => s.name === n));
    if (unknown.length > 0) {
      process.stderr.write(`bench: unknown section ${unknown.join(', ')}\n`);
      process.exit(2);
    }
  }
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  requireDist();
  const baseline = opts.baseline === undefined ? undefined : openBaseline(opts.baseline);
  const scratch = makeScratch();
  const onSignal = (signal) => {
    scratch.cleanup();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const started = performance.now();
  const log = (msg) =>
    process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
  const ctx = { quick: opts.quick, scratch, log, baseline };
  const env = environment(opts.quick ? 'quick (--quick: smoke run, not for numbers)' : 'full');
  if (baseline) {
    env.push(['baseline', `${baseline.root} @ ${baseline.commit} (cli, run, mcp, serve)`]);
  }
  // Every Node process loads this CA file at start (about 40 ms for a system bundle): in the
  // commands' environment it would add the same constant to every row and hide start-up
  // differences, so the commands run without it, as on most machines.
  if (process.env.NODE_EXTRA_CA_CERTS !== undefined) {
    delete process.env.NODE_EXTRA_CA_CERTS;
    env.push(['NODE_EXTRA_CA_CERTS', "set here; removed from the commands' environment"]);
  }
  const tables = [];
  try {
    for (const section of SECTIONS) {
      if (opts.only && !opts.only.includes(section.name)) continue;
      log(`${section.name}: start`);
      const t0 = performance.now();
      const out = await section.run(ctx);
      tables.push(...(Array.isArray(out) ? out : [out]));
      log(`${section.name}: done in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    }
  } finally {
    scratch.cleanup();
  }
  env.push(['total', `${((performance.now() - started) / 1000).toFixed(1)} s`]);
  process.stdout.write(`${renderEnvironment(env)}\n\n`);
  printTables(tables);
}

main().catch((err) => {
  process.stderr.write(`bench: failed: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
