/**
 * `coffer doctor`: seed 004's security checklist as one command (core/doctor). This file
 * parses the options, opens the vault lazily for the checks that need it, and formats the
 * report: a summary line per category and the failed checks with their evidence and fix on a
 * terminal, `{checks: [...]}` with `--json`, SARIF with `--sarif FILE`. `--fix` shows each
 * safe fix before applying it; not on a terminal it only shows them (`--dry-run` is the
 * default there; `--no-dry-run` applies).
 *
 * Exit codes: 0 no check of severity error failed (nor a warning, with --strict), 1 otherwise,
 * 2 usage.
 */
import { writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isatty } from 'node:tty';
import type { Command } from 'commander';
// The checks and the scanner are loaded when the command runs, not for `doctor --help`.
import type {
  CheckOutcome,
  DoctorOptions,
  DoctorReport,
  Evidence,
} from '../../core/doctor/index.js';
import { CATEGORIES } from '../../core/doctor/types.js';
import { CofferError } from '../../core/errors.js';
import { parseEnvironment, parseProjectName } from '../../core/paths.js';
import { escapeControls } from '../../core/terminal-text.js';
import { action, type CommonOptions } from '../action.js';
import { isRemoteMode } from '../backend.js';
import type { GlobalOptions } from '../context.js';
import { note, printJson, refuseJsonWithStdout, warn, writeOut } from '../output.js';
import { collect, findProjectConfig } from '../project-file.js';

declare const COFFER_VERSION: string;

interface DoctorCommandOptions extends CommonOptions {
  project?: string;
  fix?: boolean;
  dryRun?: boolean;
  sarif?: string;
  strict?: boolean;
  history?: boolean;
}

/** One evidence line: file names and audit times are anyone's text, shown escaped. */
function where(e: Evidence): string {
  const place = e.file !== undefined ? `${e.file}${e.line !== undefined ? `:${e.line}` : ''}` : '';
  const commit = e.commit !== undefined ? `${e.commit.slice(0, 12)} ` : '';
  return escapeControls(place === '' ? e.message : `${commit}${place}: ${e.message}`);
}

function jsonCheck(c: CheckOutcome, applied: ReadonlyMap<object, string | true>) {
  return {
    id: c.id,
    category: c.category,
    severity: c.severity,
    status: c.status,
    title: c.title,
    why: c.why,
    evidence: c.evidence.map((e) =>
      Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)),
    ),
    unread: c.unread.map((u) => ({ file: u.file, reason: u.reason, message: u.message })),
    fix: c.fixes.map((f) => ({
      description: f.description,
      ...(f.command !== undefined ? { command: f.command } : {}),
      safe: f.apply !== undefined,
      ...(applied.has(f)
        ? {
            applied: applied.get(f) === true,
            ...(applied.get(f) !== true ? { error: applied.get(f) } : {}),
          }
        : {}),
    })),
    ...(c.skipped !== undefined ? { skipped: c.skipped } : {}),
    ms: Math.round(c.ms * 10) / 10,
    cpuMs: Math.round(c.cpuMs * 10) / 10,
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function human(report: DoctorReport, fixing: boolean): string {
  const out: string[] = [];
  for (const cat of CATEGORIES) {
    const checks = report.checks.filter((c) => c.category === cat);
    if (checks.length === 0) continue;
    const failed = checks.filter((c) => c.status === 'fail');
    const count = (s: string) => failed.filter((c) => c.severity === s).length;
    const incomplete = checks.filter((c) => c.status === 'incomplete').length;
    const parts = [
      count('error') > 0 ? plural(count('error'), 'error') : '',
      count('warning') > 0 ? plural(count('warning'), 'warning') : '',
      count('info') > 0 ? `${count('info')} info` : '',
      incomplete > 0 ? `${incomplete} incomplete` : '',
    ].filter(Boolean);
    const skipped = checks.filter((c) => c.status === 'skipped').length;
    out.push(
      `${cat.padEnd(13)}${(parts.length === 0 ? 'ok' : parts.join(', ')).padEnd(24)}${checks.length - failed.length - skipped - incomplete}/${checks.length} passed${skipped > 0 ? `, ${skipped} skipped` : ''}`,
    );
  }
  for (const c of report.checks.filter((x) => x.status === 'fail' || x.unread.length > 0)) {
    const label = c.status === 'fail' ? c.severity.toUpperCase() : 'INCOMPLETE';
    out.push('', `${label} ${c.id}: ${c.title}`, `  why: ${c.why}`);
    for (const e of c.evidence.slice(0, 20)) out.push(`  - ${where(e)}`);
    if (c.evidence.length > 20)
      out.push(`  ... and ${c.evidence.length - 20} more (--json lists them)`);
    for (const u of c.unread.slice(0, 20)) out.push(`  - ${escapeControls(u.message)}`);
    if (c.unread.length > 20)
      out.push(`  ... and ${c.unread.length - 20} more unread (--json lists them)`);
    for (const f of c.fixes.slice(0, 10)) {
      out.push(
        `  fix${f.apply !== undefined ? (fixing ? '' : ' (--fix applies it)') : ''}: ${escapeControls(f.description)}${f.command !== undefined ? `\n       ${escapeControls(f.command)}` : ''}`,
      );
    }
    if (c.fixes.length > 10)
      out.push(`  ... and ${c.fixes.length - 10} more fixes (--json lists them)`);
  }
  return `${out.join('\n')}\n`;
}

function summary(report: DoctorReport): string {
  const skipped = report.checks.filter((c) => c.status === 'skipped').length;
  return `${report.checks.length} checks: ${plural(report.errors, 'error')}, ${plural(report.warnings, 'warning')}, ${report.infos} info${report.incomplete > 0 ? `, ${report.incomplete} incomplete (files not read)` : ''}${skipped > 0 ? `, ${skipped} skipped` : ''}`;
}

export function doctorCommand(program: Command): void {
  program
    .command('doctor')
    .description("check the project against seed 004's security checklist; fix what is safe to fix")
    .option('-p, --project <project>', 'the project in the vault (default: .coffer or coffer.yaml)')
    .option(
      '-e, --env <env>',
      'only this environment (repeatable; default: every one)',
      collect,
      [],
    )
    .option('--fix', 'apply the safe fixes, each shown first (a dry run when not on a terminal)')
    .option('--dry-run', 'with --fix: show the fixes without applying them')
    .option('--no-dry-run', 'with --fix: apply them even when not on a terminal (CI, scripts)')
    .option('--history', 'scan git history too (slower)')
    .option('--strict', 'exit 1 on warnings too (and on files a check could not read)')
    .option('--json', 'print {checks: [{id, severity, status, evidence, fix}], summary}')
    .option('--sarif <file>', 'also write the failed checks as SARIF 2.1.0 (- for stdout)')
    .addHelpText(
      'after',
      `
Checks (docs/doctor.md explains each): files (.env ignored, .gitignore entries,
.env.example placeholders, tracked key files, modes, stray key copies, vault builds
and lock pid files), code (scan
findings, comments, stored values, logs, --history), deploy (docker-compose,
Dockerfiles, CI workflows), environments (prod shares a value with dev, required
variables, name typos), keys (weak, tier 3 backup, changed without rewrap), access
(tokens, MCP configuration, agent settings), lifecycle (rotation, incidents, pre-commit
hook, baseline, audit verify, backups).
Evidence names files, lines, key paths and token names, never a value.
A file a check must examine but cannot read (permission denied, too large, not a
regular file, a dangling link) is reported as "could not read FILE: REASON", and a
check that found nothing else is incomplete (a warning), never passed.
Safe fixes (--fix): .gitignore/.dockerignore entries, chmod 600, the pre-commit hook,
.env.example from coffer.yaml, deleting a temp file, key copy, vault build or lock pid
file a killed coffer left (never one of another host or container: its rm is shown).
Everything else is printed as the command to run.
Exit codes: 0 no error (no warning either with --strict), 1 otherwise, 2 usage.

Examples:
  coffer doctor
  coffer doctor --fix
  coffer doctor --project consilio --env prod --strict
  coffer doctor --history --sarif doctor.sarif     # in CI, for code scanning
  coffer doctor --json | jq '.checks[] | select(.status == "fail") | .id'`,
    )
    .action(
      action<DoctorCommandOptions>(async (_args, opts, g) => {
        refuseJsonWithStdout(opts.json, opts.sarif === '-' && '--sarif');
        // --env is repeatable here (collect): an array, unlike the shared single --env.
        const given = (opts as { env?: string[] | string }).env ?? [];
        const envs = (Array.isArray(given) ? given : [given]).map((e) => parseEnvironment(e));
        const { applyFix, DoctorContext, doctorExitCode, doctorSarif, runDoctor, safeFixes } =
          await import('../../core/doctor/index.js');
        const { gitTopLevel } = await import('../../core/scan/sources.js');
        const cwd = process.cwd();
        const root = gitTopLevel(cwd) ?? cwd;
        const project =
          opts.project !== undefined
            ? parseProjectName(opts.project)
            : findProjectConfig(cwd)?.project;
        const opened: { close(): Promise<void> }[] = [];
        const options: DoctorOptions = {
          root,
          home: process.env.HOME || homedir(),
          env: process.env,
          project,
          envs,
          history: opts.history === true,
          hookCommand: [process.execPath, process.argv[1]!],
          vaultFiles: vaultFiles(g),
          openVault: async () => {
            if (isRemoteMode()) {
              warn('vault checks skipped: doctor reads a local vault (unset COFFER_URL)');
              return undefined;
            }
            try {
              const { openVault } = await import('../context.js');
              const v = await openVault({ ...g, noPrompt: true });
              opened.push(v);
              return v.vault.withActor(`${v.vault.actor} doctor`);
            } catch (err) {
              if (err instanceof CofferError && err.code === 'VAULT_NOT_FOUND') return undefined;
              const why =
                err instanceof CofferError ? err.message : 'the vault could not be opened';
              warn(`vault checks skipped: ${why}`);
              return undefined;
            }
          },
        };
        const fixing = opts.fix === true;
        const dryRun = opts.dryRun ?? !isatty(1);
        const run = async () => {
          const ctx = new DoctorContext(options);
          try {
            return await runDoctor(ctx);
          } finally {
            await ctx.close();
          }
        };
        try {
          let report = await run();
          const applied = new Map<object, string | true>();
          const done: { check: string; description: string; applied: boolean; error?: string }[] =
            [];
          if (fixing) {
            const fixes = safeFixes(report);
            if (fixes.length === 0) note('no safe fix to apply');
            for (const { check, fix } of fixes) {
              if (dryRun) {
                note(`would fix (${check}): ${fix.description}`);
                continue;
              }
              note(`fixing (${check}): ${fix.description}`);
              const error = await applyFix(fix);
              applied.set(fix, error ?? true);
              done.push({
                check,
                description: fix.description,
                applied: error === undefined,
                ...(error !== undefined ? { error } : {}),
              });
              if (error !== undefined) warn(`fix failed (${check}): ${error}`);
            }
            if (dryRun && fixes.length > 0) {
              note('dry run: nothing changed (run on a terminal, or add --no-dry-run, to apply)');
            }
            if (!dryRun && fixes.length > 0) {
              const before = report;
              report = await run();
              const fixed = before.checks.filter(
                (c) =>
                  c.status === 'fail' &&
                  report.checks.find((x) => x.id === c.id)?.status === 'pass',
              );
              note(
                `${applied.size} fix${applied.size === 1 ? '' : 'es'} applied; ${plural(fixed.length, 'check')} now pass`,
              );
            }
          }
          const version = typeof COFFER_VERSION === 'string' ? COFFER_VERSION : '0.0.0-dev';
          if (opts.sarif !== undefined) {
            const sarif = `${JSON.stringify(doctorSarif(report, version), null, 2)}\n`;
            if (opts.sarif === '-') writeOut(sarif);
            else writeFileSync(opts.sarif, sarif);
          }
          if (opts.json) {
            printJson({
              checks: report.checks.map((c) => jsonCheck(c, applied)),
              summary: {
                errors: report.errors,
                warnings: report.warnings,
                infos: report.infos,
                incomplete: report.incomplete,
              },
              ...(fixing ? { fixes: done, dryRun } : {}),
              costs: Object.fromEntries(
                Object.entries(report.costs).map(([k, c]) => [
                  k,
                  { ms: Math.round(c.ms * 10) / 10, cpuMs: Math.round(c.cpuMs * 10) / 10 },
                ]),
              ),
            });
          } else if (opts.sarif !== '-') {
            writeOut(human(report, fixing && !dryRun));
            note(summary(report));
          }
          return doctorExitCode(report, opts.strict === true);
        } finally {
          for (const v of opened) await v.close();
        }
      }),
    );
}

/** The vault file and key file, when they are files (checked for their modes). */
function vaultFiles(g: GlobalOptions): string[] {
  if (isRemoteMode() || (process.env.COFFER_DATABASE_URL ?? '') !== '') return [];
  const home = process.env.COFFER_HOME || join(homedir(), '.coffer');
  const vault = g.vault ?? join(home, 'vault.db');
  const key = g.keyFile ?? process.env.COFFER_KEY_FILE ?? join(vault, '..', 'master.key');
  return [vault, key];
}
