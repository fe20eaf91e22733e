/**
 * The spans of a line already claimed by a finding, which a later rule may not report again.
 *
 * Spans are disjoint (one is added only when it overlaps none taken; the stored values found
 * on a line are disjoint already), so ordered by start they are ordered by end too, and a
 * test is a binary search, not a walk of every span: a line of n findings costs n log n, not
 * n² (a one-line dump of a million assignments took hours). Each rule's matches come in
 * order along the line: they are appended to a run of their own, merged with the rest when
 * a span comes before the run's last (the next rule's matches), once per rule.
 */
import { scanWork } from './work.js';

/** A half-open range of a line's columns (0-based, end exclusive). */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** True when a span of `spans` (disjoint, by start) overlaps `start`..`end`. */
function overlapsSorted(spans: readonly Span[], start: number, end: number): boolean {
  // The first span that ends after `start`: the only one that may overlap from the left.
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    scanWork.spanTests++;
    if (spans[mid]!.end <= start) lo = mid + 1;
    else hi = mid;
  }
  scanWork.spanTests++;
  return lo < spans.length && spans[lo]!.start < end;
}

export class TakenSpans {
  /** Spans of earlier runs, by start. */
  #sorted: Span[] = [];
  /** Spans added since the last merge, by start. */
  #run: Span[] = [];

  /** True when `start`..`end` overlaps a span taken. */
  overlaps(start: number, end: number): boolean {
    return overlapsSorted(this.#sorted, start, end) || overlapsSorted(this.#run, start, end);
  }

  /** Takes `span`, which overlaps none taken. */
  add(span: Span): void {
    const run = this.#run;
    if (run.length > 0 && span.start < run[run.length - 1]!.start) this.#merge();
    this.#run.push(span);
  }

  #merge(): void {
    const a = this.#sorted;
    const b = this.#run;
    const out: Span[] = new Array(a.length + b.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < a.length && j < b.length) out[k++] = a[i]!.start <= b[j]!.start ? a[i++]! : b[j++]!;
    while (i < a.length) out[k++] = a[i++]!;
    while (j < b.length) out[k++] = b[j++]!;
    this.#sorted = out;
    this.#run = [];
  }
}
