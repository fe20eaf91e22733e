/**
 * Timing whole commands: fresh processes, interleaved round by round (the order rotating
 * each round) so that the commands compared share the machine's noise.
 */
import { spawnSync } from 'node:child_process';
import { fmtMs, fmtRatio, median, quantile } from './stats.mjs';

/** The process environment without any COFFER_* variable of the caller. */
export function cleanEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('COFFER_')) env[k] = v;
  return { ...env, ...extra };
}

/** Runs `node args...` once; throws on a non-zero exit. */
export function spawnTimed(args, env, input, cwd) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, {
    env,
    input,
    cwd,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  const ms = performance.now() - t0;
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(
      `\`node ${args.join(' ')}\` exited with ${r.status}: ${r.stderr.trim() || r.stdout.trim()}`,
    );
  }
  return { ms, stdout: r.stdout };
}

/**
 * Times each command `rounds` times after `warmup` rounds. A command is
 * { label, args, env, cwd?, expect?, baseline?, target? }; the first with `baseline` is the
 * denominator of the ratios. Returns table rows: label, median, p90, min, ratio, target.
 */
export function compareCommands(commands, { warmup, rounds }) {
  for (const c of commands) c.samples = [];
  for (let round = 0; round < warmup + rounds; round++) {
    for (let i = 0; i < commands.length; i++) {
      const c = commands[(i + round) % commands.length];
      const { ms, stdout } = spawnTimed(c.args, c.env, undefined, c.cwd);
      if (c.expect !== undefined && stdout !== `${c.expect}\n`) {
        throw new Error(`${c.label} printed an unexpected value`);
      }
      if (round >= warmup) c.samples.push(ms);
    }
  }
  const base = median(commands.find((c) => c.baseline).samples);
  return commands.map((c) => {
    const med = median(c.samples);
    const ratio = med / base;
    return [
      c.label,
      fmtMs(med),
      fmtMs(quantile(c.samples, 0.9)),
      fmtMs(Math.min(...c.samples)),
      c.baseline ? '1.00x' : fmtRatio(ratio),
      c.target === undefined ? '' : `<= ${c.target}x: ${ratio <= c.target ? 'met' : 'NOT met'}`,
    ];
  });
}

export const COMMAND_COLUMNS = (baselineLabel) => [
  { header: 'command', align: 'left' },
  { header: 'median ms', align: 'right' },
  { header: 'p90 ms', align: 'right' },
  { header: 'min ms', align: 'right' },
  { header: `vs ${baselineLabel}`, align: 'right' },
  { header: 'target', align: 'left' },
];
