/**
 * `coffer hook install|uninstall`: the git pre-commit hook that runs `coffer scan --staged`
 * (core/scan/hook.ts). The hook runs this same coffer (the Node binary and script now
 * running), so it works where `coffer` is not on the PATH git hooks see.
 */
import type { Command } from 'commander';
import { installHook, uninstallHook } from '../../core/scan/hook.js';
import { action, type CommonOptions } from '../action.js';
import { printJson, writeOut } from '../output.js';

export function hookCommand(program: Command): void {
  const hook = program
    .command('hook')
    .description('install or remove the git pre-commit hook that runs coffer scan --staged')
    .addHelpText(
      'after',
      `
Examples:
  coffer hook install
  coffer hook uninstall`,
    );
  hook
    .command('install')
    .description('add a pre-commit hook running coffer scan --staged (an existing hook runs first)')
    .option('--json', 'print {hook, chained, changed}')
    .addHelpText(
      'after',
      `
The hook goes in the repository's hooks directory (core.hooksPath when set). An existing
pre-commit hook is kept as pre-commit.coffer-chained and runs before the scan.

Examples:
  coffer hook install
  git config core.hooksPath .githooks && coffer hook install`,
    )
    .action(
      action<CommonOptions>(async (_args, opts) => {
        const r = installHook(process.cwd(), [process.execPath, process.argv[1]!]);
        if (opts.json) printJson(r);
        else {
          writeOut(
            `${r.changed ? 'installed' : 'already installed'}: ${r.hook}${r.chained ? ` (runs ${r.chained} first)` : ''}\n`,
          );
        }
        return 0;
      }),
    );
  hook
    .command('uninstall')
    .description('remove the pre-commit hook and put a chained hook back')
    .option('--json', 'print {hook, chained, changed}')
    .addHelpText(
      'after',
      `
Examples:
  coffer hook uninstall`,
    )
    .action(
      action<CommonOptions>(async (_args, opts) => {
        const r = uninstallHook(process.cwd());
        if (opts.json) printJson(r);
        else writeOut(`${r.changed ? 'removed' : 'not installed'}: ${r.hook}\n`);
        return 0;
      }),
    );
}
