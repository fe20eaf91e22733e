/**
 * Runs the checks of `coffer doctor` one after the other on one context, timing each (the
 * shared inputs a check triggers are counted apart, in the context's `costs`), and applies
 * the planned fixes a front end chose. A check that throws is reported as a failed check with
 * the error's code (a CofferError's message names no value), never as a stack trace. A check
 * that could not read a file it had to examine is `incomplete` when it found nothing else, and
 * counted apart (`incomplete`): a warning, never a pass.
 */
import { cpuUsage } from 'node:process';
import { CofferError } from '../errors.js';
import { ACCESS_CHECKS } from './checks/access.js';
import { CODE_CHECKS } from './checks/code.js';
import { DEPLOY_CHECKS } from './checks/deploy.js';
import { ENVIRONMENT_CHECKS } from './checks/environments.js';
import { FILE_CHECKS } from './checks/files.js';
import { KEY_CHECKS } from './checks/keys.js';
import { LIFECYCLE_CHECKS } from './checks/lifecycle.js';
import type { DoctorContext } from './context.js';
import type { Check, CheckOutcome, CheckResult, DoctorReport, Fix, Unread } from './types.js';

/** Every check, in the order they run and are listed. */
export const CHECKS: readonly Check[] = [
  ...FILE_CHECKS,
  ...CODE_CHECKS,
  ...DEPLOY_CHECKS,
  ...ENVIRONMENT_CHECKS,
  ...KEY_CHECKS,
  ...ACCESS_CHECKS,
  ...LIFECYCLE_CHECKS,
];

const cpu = () => {
  const u = cpuUsage();
  return (u.user + u.system) / 1000;
};

function sharedTotal(ctx: DoctorContext): { ms: number; cpuMs: number } {
  let ms = 0;
  let cpuMs = 0;
  for (const c of ctx.costs.values()) {
    ms += c.ms;
    cpuMs += c.cpuMs;
  }
  return { ms, cpuMs };
}

function failedCheck(err: unknown): CheckResult {
  const message =
    err instanceof CofferError
      ? `the check could not run: ${err.message}`
      : `the check could not run (${(err as Error)?.name ?? 'error'})`;
  return { evidence: [{ message }] };
}

/** Runs `checks` (default: all) on `ctx`. */
export async function runDoctor(
  ctx: DoctorContext,
  checks: readonly Check[] = CHECKS,
): Promise<DoctorReport> {
  const out: CheckOutcome[] = [];
  for (const check of checks) {
    const before = sharedTotal(ctx);
    const t0 = performance.now();
    const c0 = cpu();
    let result: CheckResult;
    try {
      result = await check.run(ctx);
    } catch (err) {
      result = failedCheck(err);
    }
    const after = sharedTotal(ctx);
    const unread = result.skipped !== undefined ? [] : uniqueUnread(result.unread ?? []);
    const status =
      result.skipped !== undefined
        ? 'skipped'
        : result.evidence.length > 0
          ? 'fail'
          : unread.length > 0
            ? 'incomplete'
            : 'pass';
    out.push({
      id: check.id,
      category: check.category,
      severity: check.severity,
      title: check.title,
      why: check.why,
      status,
      evidence: result.evidence,
      unread,
      fixes: status === 'fail' ? (result.fixes ?? []) : [],
      ...(result.skipped !== undefined ? { skipped: result.skipped } : {}),
      ms: Math.max(0, performance.now() - t0 - (after.ms - before.ms)),
      cpuMs: Math.max(0, cpu() - c0 - (after.cpuMs - before.cpuMs)),
    });
  }
  const failing = (s: string) => out.filter((c) => c.status === 'fail' && c.severity === s).length;
  return {
    checks: out,
    errors: failing('error'),
    warnings: failing('warning'),
    infos: failing('info'),
    incomplete: out.filter((c) => c.unread.length > 0).length,
    costs: Object.fromEntries(ctx.costs),
  };
}

/** Each file once, in the order first reported. */
function uniqueUnread(list: readonly Unread[]): Unread[] {
  const seen = new Map<string, Unread>();
  for (const u of list) if (!seen.has(u.file)) seen.set(u.file, u);
  return [...seen.values()];
}

/**
 * The exit code: 1 when a check with severity error failed (or, with `strict`, a warning, or
 * a check could not read a file it had to examine).
 */
export function doctorExitCode(report: DoctorReport, strict: boolean): number {
  return report.errors > 0 || (strict && (report.warnings > 0 || report.incomplete > 0)) ? 1 : 0;
}

/** The fixes of a report that can be applied (safe and reversible), with their check. */
export function safeFixes(report: DoctorReport): { check: string; fix: Fix }[] {
  const out: { check: string; fix: Fix }[] = [];
  for (const c of report.checks) {
    for (const fix of c.fixes) if (fix.apply !== undefined) out.push({ check: c.id, fix });
  }
  return out;
}

/** Applies one fix; the error's message when it fails (names only). */
export async function applyFix(fix: Fix): Promise<string | undefined> {
  try {
    await fix.apply?.();
    return undefined;
  } catch (err) {
    return err instanceof CofferError
      ? err.message
      : `${(err as NodeJS.ErrnoException).code ?? (err as Error)?.name ?? 'error'}`;
  }
}
