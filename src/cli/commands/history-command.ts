/**
 * `coffer history PATH`: the versions of a secret, without values.
 */
import type { Command } from 'commander';
import { projectOfPath } from '../../core/project-file/index.js';
import { action, type CommonOptions } from '../action.js';
import { envOf, withService } from '../context.js';
import { envHelp } from '../env-option.js';
import { printJson, table, writeOut } from '../output.js';
import { envInput, withSuggestions } from '../suggestions.js';

export function historyCommand(program: Command): void {
  program
    .command('history')
    .description('list the versions of a secret (never values)')
    .argument('<path>', 'key path')
    .option('-e, --env <env>', envHelp())
    .option('--json', 'print {path, env, current, deleted, versions: [...]} as JSON')
    .addHelpText('after', '\nExample:\n  coffer history project/consilio/stripe_api_key --env prod')
    .action(
      action<CommonOptions>(async ([path], opts, g) =>
        withService(g, async (vault) => {
          const { secret, versions } = await withSuggestions(
            g,
            { kind: 'path', input: path!, env: envInput(opts, projectOfPath(path!)) },
            () => vault.history(path!, envOf(opts, projectOfPath(path!))),
            vault,
          );
          if (opts.json) {
            printJson({
              path: secret.path,
              env: secret.env,
              current: secret.currentVersion,
              deleted: secret.deletedAt !== null,
              versions,
            });
          } else {
            writeOut(
              table(
                ['VERSION', 'CREATED', 'BY', 'KEY'],
                versions.map((v) => [
                  String(v.version) + (v.version === secret.currentVersion ? ' (current)' : ''),
                  v.createdAt.slice(0, 19).replace('T', ' '),
                  v.actor,
                  v.kekId,
                ]),
              ),
            );
          }
          return 0;
        }),
      ),
    );
}
