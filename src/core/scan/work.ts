/**
 * Counters of the work the scanner does, for tests and the benchmark: deterministic measures
 * (characters searched for line ends, span comparisons) that tell a linear pass from a
 * quadratic one without a clock, so they hold on a busy machine. Counting is one addition per
 * chunk or per comparison; nothing in a scan reads them.
 */

/** The work done since the last `resetScanWork()`. */
export const scanWork: {
  /** Characters searched for a line end by the readers of chunked input (files, git). */
  lineEndChars: number;
  /** Comparisons of a match's span with the spans already taken on its line. */
  spanTests: number;
} = { lineEndChars: 0, spanTests: 0 };

/** Sets every counter to zero. */
export function resetScanWork(): void {
  scanWork.lineEndChars = 0;
  scanWork.spanTests = 0;
}
