/**
 * The shapes of `coffer doctor`: a check (a stable id, a category, a severity, why it matters
 * in one sentence from the seeds, and `run`), the evidence it reports and the fixes it plans.
 *
 * Evidence names places (a file and line, a key path and environment, a token name), never a
 * value: every message is built from names, so no output format of doctor can carry one.
 * A fix is planned first (its description and the command it stands for) and applied only
 * when the front end asks; `apply` is present only for the safe, reversible fixes of the
 * issue (a .gitignore entry, a chmod, the pre-commit hook, a .env.example from the manifest).
 *
 * A file a check had to examine but could not read (too large, not a regular file, permission
 * denied, a dangling link) is never taken as absent: the check reports it (`unread`), and a
 * check that found nothing else is `incomplete`, not `pass`. A file that is not there is none.
 */
import type { DoctorContext } from './context.js';

export type Severity = 'error' | 'warning' | 'info';

export type Category =
  | 'files'
  | 'code'
  | 'deploy'
  | 'environments'
  | 'keys'
  | 'access'
  | 'lifecycle';

export const CATEGORIES: readonly Category[] = [
  'files',
  'code',
  'deploy',
  'environments',
  'keys',
  'access',
  'lifecycle',
];

/** One place a problem was found. Never a value. */
export interface Evidence {
  /** What is wrong here, for people (names only). */
  readonly message: string;
  /** Relative to the project root (or `~/…` under the home directory). */
  readonly file?: string | undefined;
  readonly line?: number | undefined;
  readonly keyPath?: string | undefined;
  readonly env?: string | undefined;
  readonly token?: string | undefined;
  /** A commit id, for history findings. */
  readonly commit?: string | undefined;
}

/** A planned fix: shown before it is applied; `apply` only when it is safe and reversible. */
export interface Fix {
  readonly description: string;
  /** The command that does the same (or that a person runs when there is no `apply`). */
  readonly command?: string | undefined;
  readonly apply?: (() => void | Promise<void>) | undefined;
}

/** A file a check had to examine and could not read. Never a value: a name and a reason. */
export interface Unread {
  /** As Evidence's `file`: relative to the project root, or `~/…`, or absolute. */
  readonly file: string;
  /** `permission denied`, `larger than 64 MiB`, `not a regular file (a FIFO)`, `a dangling link`. */
  readonly reason: string;
  /** `could not read FILE: REASON`. */
  readonly message: string;
}

/** The Unread of `file` for `reason`. */
export function unread(file: string, reason: string): Unread {
  return { file, reason, message: `could not read ${file}: ${reason}` };
}

export interface CheckResult {
  readonly evidence: readonly Evidence[];
  /** Files the check had to examine but could not read (the check is not `pass` then). */
  readonly unread?: readonly Unread[] | undefined;
  /** What to do about the evidence: reported only when there is some (the check fails). */
  readonly fixes?: readonly Fix[] | undefined;
  /** Set when the check could not run here (no vault, no git, no --history): why. */
  readonly skipped?: string | undefined;
}

export interface Check {
  /** Stable forever: `category/name`. */
  readonly id: string;
  readonly category: Category;
  readonly severity: Severity;
  /** A short title. */
  readonly title: string;
  /** Why it matters, in one sentence (from the seeds). */
  readonly why: string;
  run(ctx: DoctorContext): Promise<CheckResult> | CheckResult;
}

/**
 * `incomplete`: nothing found in what the check read, but a file it had to examine could not
 * be read (`unread` says which and why).
 */
export type CheckStatus = 'pass' | 'fail' | 'incomplete' | 'skipped';

/** One check's outcome in a report. */
export interface CheckOutcome {
  readonly id: string;
  readonly category: Category;
  readonly severity: Severity;
  readonly title: string;
  readonly why: string;
  readonly status: CheckStatus;
  readonly evidence: readonly Evidence[];
  /** Files it could not read (a failed check may have some too). */
  readonly unread: readonly Unread[];
  readonly fixes: readonly Fix[];
  readonly skipped?: string | undefined;
  /** Wall and CPU time of the check's run (ms), lazy work it triggered included. */
  readonly ms: number;
  readonly cpuMs: number;
}

export interface DoctorReport {
  readonly checks: readonly CheckOutcome[];
  readonly errors: number;
  readonly warnings: number;
  readonly infos: number;
  /** Checks that could not read a file they had to examine (reported as warnings). */
  readonly incomplete: number;
  /** Time spent preparing the shared inputs (git file lists, vault, scans), by name (ms). */
  readonly costs: Readonly<Record<string, { ms: number; cpuMs: number }>>;
}
