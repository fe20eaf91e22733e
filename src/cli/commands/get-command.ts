/**
 * `coffer get PATH`: prints a secret's value and one newline (the only command that does).
 */
import type { Command } from 'commander';
import { projectOfPath } from '../../core/project-file/index.js';
import { valueForTerminal } from '../../core/terminal-text.js';
import { action, type CommonOptions, intOption } from '../action.js';
import { envOf, withService } from '../context.js';
import { envHelp } from '../env-option.js';
import { printJson, warn, writeOut } from '../output.js';
import { envInput, withSuggestions } from '../suggestions.js';

interface GetOptions extends CommonOptions {
  version?: number;
}

export function getCommand(program: Command): void {
  program
    .command('get')
    .description('print the value of a secret')
    .argument('<path>', 'key path')
    .option('-e, --env <env>', envHelp())
    .option('--version <n>', 'a given version instead of the latest', intOption('--version', 1))
    .option('--json', 'print {path, env, version, value, description} as JSON')
    .addHelpText(
      'after',
      `
Examples:
  coffer get project/consilio/stripe_api_key
  coffer get project/consilio/stripe_api_key --env prod --version 2
  STRIPE_API_KEY="$(coffer get project/consilio/stripe_api_key)" node app.js`,
    )
    .action(
      action<GetOptions>(async ([path], opts, g) =>
        withService(g, async (vault) => {
          const r = await withSuggestions(
            g,
            { kind: 'path', input: path!, env: envInput(opts, projectOfPath(path!)) },
            () => vault.get(path!, envOf(opts, projectOfPath(path!)), { version: opts.version }),
            vault,
          );
          if (opts.json) {
            printJson({
              path: r.path,
              env: r.env,
              version: r.version,
              value: r.value,
              description: r.description,
            });
          } else {
            const escaped = valueForTerminal(r.value);
            // node:tty (and node:net with it) is loaded only for a value that needs it.
            if (escaped !== undefined && (await import('node:tty')).isatty(1)) {
              warn(
                'the value holds control characters a terminal would act on: shown as \\xNN (pipe it, or use --json, for the exact value)',
              );
              writeOut(`${escaped}\n`);
            } else writeOut(`${r.value}\n`);
          }
          return 0;
        }),
      ),
    );
}
