/**
 * A smaller heap for `coffer serve`. Under load V8 grows the young generation to 2 x 16 MiB
 * and lets the old one fill with promoted request garbage up to several times its live size
 * before a full collection: together some 60 MiB of a busy server's resident memory that
 * holds nothing live. Two V8 settings bound that, at about no cost in throughput (see
 * bench/serve.mjs):
 *
 * - the young generation grows as usual until `youngMiB`, then no further
 *   (`--semi-space-growth-factor=1`; node has no runtime form of --max-semi-space-size,
 *   which is read once at start-up, so growth is stopped after the first collection that
 *   finds it at the cap);
 * - the old generation's limit grows by `oldGrowthPercent` after a full collection
 *   (`--heap-growing-percent`) instead of V8's default factor of up to 4.
 *
 * Both only steer when the garbage collector runs; what it keeps is unchanged. Node flags
 * given by the user (`--max-semi-space-size`, `--heap-growing-percent`, on the command line
 * or in NODE_OPTIONS) win: then this does nothing.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import * as v8 from 'node:v8';

export interface HeapLimits {
  /** Young generation (both semi-spaces) in MiB; default 8. */
  youngMiB?: number;
  /** Old generation growth after a full collection, in percent; default 20. */
  oldGrowthPercent?: number;
}

/** What the bounding needs of V8 (tests pass a fake). */
export interface HeapControl {
  setFlags(flags: string): void;
  /** Current size of the young generation in bytes. */
  youngSize(): number;
  /** Calls `fn` after each garbage collection; returns a function that stops it. */
  afterGc(fn: () => void): () => void;
  /** node's own flags: process.execArgv and NODE_OPTIONS. */
  nodeFlags(): string;
}

const nodeControl: HeapControl = {
  setFlags: (flags) => v8.setFlagsFromString(flags),
  youngSize: () =>
    v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size,
  afterGc(fn) {
    const observer = new PerformanceObserver(() => fn());
    observer.observe({ entryTypes: ['gc'] });
    return () => observer.disconnect();
  },
  nodeFlags: () => `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`,
};

/** Applies the limits; returns what it did (for the log), or undefined when the user's flags rule. */
export function boundHeap(
  limits: HeapLimits = {},
  control: HeapControl = nodeControl,
): { youngMiB: number; oldGrowthPercent: number } | undefined {
  const youngMiB = limits.youngMiB ?? 8;
  const oldGrowthPercent = limits.oldGrowthPercent ?? 20;
  if (/semi-space-size|heap-growing-percent/.test(control.nodeFlags())) return undefined;
  control.setFlags(`--heap-growing-percent=${oldGrowthPercent}`);
  const cap = youngMiB * 1024 * 1024;
  let stop: (() => void) | undefined;
  const check = (): void => {
    if (control.youngSize() < cap) return;
    control.setFlags('--semi-space-growth-factor=1');
    stop?.();
    stop = undefined;
  };
  check();
  if (control.youngSize() < cap) stop = control.afterGc(check);
  return { youngMiB, oldGrowthPercent };
}
