/** Small statistics and formatting helpers shared by the bench sections. */

/** The q-quantile (0..1) of a list of numbers, by linear interpolation. */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export const median = (values) => quantile(values, 0.5);

/**
 * Runs `fn` (sync or async) repeatedly for `budgetMs` of wall time and returns the number
 * of calls, the elapsed ms and the rate. The clock is read after each call only.
 */
export async function runForTime(budgetMs, fn) {
  const start = performance.now();
  const end = start + budgetMs;
  let ops = 0;
  let now = start;
  while (now < end) {
    const r = fn(ops);
    if (r !== undefined && typeof r.then === 'function') await r;
    ops++;
    now = performance.now();
  }
  const ms = now - start;
  return { ops, ms, perSec: (ops * 1000) / ms, usPerOp: (ms * 1000) / ops };
}

/** 1234567 -> "1,234,567"; fractional values keep `digits` decimals. */
export function fmtNum(n, digits = 0) {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** A rate with about three significant digits: 123,456 / 1,234 / 12.3. */
export function fmtRate(n) {
  if (!Number.isFinite(n)) return 'n/a';
  if (n >= 100) return fmtNum(n, 0);
  if (n >= 10) return fmtNum(n, 1);
  return fmtNum(n, 2);
}

/** Milliseconds with a sensible number of decimals. */
export function fmtMs(ms) {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms >= 100) return fmtNum(ms, 0);
  if (ms >= 10) return fmtNum(ms, 1);
  return fmtNum(ms, 2);
}

/** Seconds from milliseconds: "3.42 s". */
export function fmtSec(ms) {
  return `${fmtNum(ms / 1000, 2)} s`;
}

/** A ratio as "1.23x". */
export function fmtRatio(r) {
  if (!Number.isFinite(r)) return 'n/a';
  if (r >= 100) return `${fmtNum(r, 0)}x`;
  if (r >= 10) return `${fmtNum(r, 1)}x`;
  return `${fmtNum(r, 2)}x`;
}

/** 32 -> "32 B", 1024 -> "1 KiB", 65536 -> "64 KiB". */
export function fmtBytes(n) {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}
