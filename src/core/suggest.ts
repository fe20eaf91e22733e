/**
 * "Did you mean ...?": the closest of the names that exist to a name that does not. Used
 * where a mistyped project, environment or file would otherwise make a command do nothing
 * (`coffer run --env production` when the secrets are under `prod`).
 *
 * Only names are compared here, never values.
 */

/**
 * Optimal string alignment distance (Levenshtein with adjacent transpositions, each edit
 * costing 1): `prd` -> `prod` is 1, `stirpe` -> `stripe` is 1.
 */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  if (m === 0) return n;
  if (n === 0) return m;
  // Three rows: the one before the previous (for transpositions), the previous, this one.
  let before = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let row = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    row[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, before[j - 2]! + 1);
      }
      row[j] = d;
    }
    [before, prev, row] = [prev, row, before];
  }
  return prev[n]!;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * How close `candidate` is to `input` (lower is closer), or undefined when it is not close
 * enough to suggest. Case is ignored. A name that is the start of the other (`prod` for
 * `production`, `dev` for `development`) counts as close, and so does a small edit distance
 * (at most a third of the longer name, at least 1) or a shared start of 4 characters or more
 * (`stage` and `staging`).
 */
function closeness(input: string, candidate: string): number | undefined {
  const a = input.toLowerCase();
  const b = candidate.toLowerCase();
  if (a === b) return 0;
  const shorter = Math.min(a.length, b.length);
  if (shorter >= 3 && (a.startsWith(b) || b.startsWith(a))) return 1;
  const d = editDistance(a, b);
  if (d <= Math.max(1, Math.floor(Math.max(a.length, b.length) / 3))) return 1 + d;
  if (commonPrefix(a, b) >= 4) return 10;
  return undefined;
}

/**
 * The candidate closest to `input`, or undefined when none is close enough to suggest (see
 * `closeness`). Ties go to the candidate listed first.
 *
 * @example
 * ```ts
 * closestMatch('production', ['dev', 'prod']); // 'prod'
 * closestMatch('consilo', ['agents', 'consilio']); // 'consilio'
 * closestMatch('zzz', ['dev', 'prod']); // undefined
 * ```
 */
export function closestMatch(input: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    if (c === input) continue;
    const score = closeness(input, c);
    if (score !== undefined && score < bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

/** `a, b, c` (at most `max` names, then `and N more`), or `none`. */
export function nameList(names: readonly string[], max = 10): string {
  if (names.length === 0) return 'none';
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}
