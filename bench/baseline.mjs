/**
 * `--baseline=DIR`: another coffer checkout with a built dist/ (for example a git worktree of
 * an older commit), measured beside this one in the same run. The sections that time the
 * binary (cli, run, mcp, serve) run each coffer measurement on both builds, interleaved, each
 * build on a vault it made itself (so a format change between them does not matter), and add
 * a comparison table: baseline, current, current / baseline, and whether the current build
 * stays within 10 % of the baseline.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gitCommit } from './env.mjs';
import { fmtMs, fmtRate, fmtRatio, median } from './stats.mjs';

/** How much slower (or, for rates, lower) the current build may be: 10 %. */
export const TOLERANCE = 0.1;

/** The baseline build in `dir`; throws with a hint when its dist/ is missing. */
export function openBaseline(dir) {
  const root = resolve(dir);
  const cli = join(root, 'dist', 'cli.cjs');
  const index = join(root, 'dist', 'index.js');
  for (const file of [cli, index]) {
    if (!existsSync(file)) {
      throw new Error(`--baseline: ${file} is missing: run \`npm run build\` in ${root} first`);
    }
  }
  return { root, cli, index, commit: gitCommit(root) };
}

/** The label suffix of a baseline row. */
export const BASELINE_TAG = '[baseline]';

/**
 * A comparison table. Each row is { label, base, current, unit: 'ms' | 'us' | 'req/s', ratio? }:
 * `ratio` (current / baseline) defaults to current / base; for req/s higher is better.
 */
export function comparisonTable(title, baseline, rows, notes = []) {
  return {
    title: `${title}: current vs baseline`,
    columns: [
      { header: 'measurement', align: 'left' },
      { header: 'baseline', align: 'right' },
      { header: 'current', align: 'right' },
      { header: 'current / baseline', align: 'right' },
      { header: `within ${TOLERANCE * 100} %`, align: 'left' },
    ],
    rows: rows.map((r) => {
      const ratio = r.ratio ?? r.current / r.base;
      const higherIsBetter = r.unit === 'req/s';
      const ok = higherIsBetter ? ratio >= 1 - TOLERANCE : ratio <= 1 + TOLERANCE;
      const fmt = higherIsBetter ? fmtRate : r.unit === 'us' ? (v) => v.toFixed(1) : fmtMs;
      return [
        r.label,
        `${fmt(r.base)} ${r.unit}`,
        `${fmt(r.current)} ${r.unit}`,
        fmtRatio(ratio),
        Number.isFinite(ratio) ? (ok ? 'yes' : 'NO') : 'n/a',
      ];
    }),
    notes: [
      `baseline: coffer @ ${baseline.commit}; current: this checkout. Both measured in this run,`,
      'interleaved, each on a vault it created itself.',
      ...notes,
    ],
  };
}

/**
 * Rows for comparisonTable from compareCommands' commands paired by `twin`: medians, and as
 * ratio the median over rounds of current / baseline in the same round (so that a machine
 * that slows down or speeds up during the run moves both alike).
 */
export function commandComparisons(commands) {
  return commands
    .filter((c) => c.twin !== undefined)
    .map((c) => ({
      label: c.label,
      base: median(c.twin.samples),
      current: median(c.samples),
      ratio: median(c.samples.map((ms, i) => ms / c.twin.samples[i])),
      unit: 'ms',
    }));
}

/**
 * The baseline twin of each coffer command in `commands` (those with `coffer: true`), made by
 * `twinOf(command)`, inserted after it; returns the new list. Without a baseline the list is
 * returned as it is.
 */
export function withTwins(commands, baseline, twinOf) {
  if (baseline === undefined) return commands;
  const out = [];
  for (const c of commands) {
    out.push(c);
    if (c.coffer) {
      const twin = { ...twinOf(c), label: `${c.label} ${BASELINE_TAG}`, target: undefined };
      c.twin = twin;
      out.push(twin);
    }
  }
  return out;
}
