/**
 * `coffer delete PATH` and `coffer restore PATH`: soft delete and its undo.
 */
import type { Command } from 'commander';
import { action, type CommonOptions } from '../action.js';
import { envOf, withLocalVault } from '../context.js';
import { note, printJson } from '../output.js';
import { envInput, withSuggestions } from '../suggestions.js';

export function deleteCommand(program: Command): void {
  program
    .command('delete')
    .alias('rm')
    .description('delete a secret (soft: `coffer restore` brings it back)')
    .argument('<path>', 'key path')
    .option('-e, --env <env>', 'environment (default: COFFER_ENV or dev)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  coffer delete project/consilio/old_api_key --env staging')
    .action(
      action<CommonOptions>(async ([path], opts, g) =>
        withLocalVault('coffer delete', g, async ({ vault }) => {
          const r = await withSuggestions(
            g,
            { kind: 'path', input: path!, env: envInput(opts) },
            () => vault.delete(path!, envOf(opts)),
            vault,
          );
          if (opts.json) printJson(r);
          else
            note(
              `${r.alreadyDeleted ? 'already deleted' : 'deleted'} ${r.path} (${r.env}); undo with: coffer restore ${r.path} --env ${r.env}`,
            );
          return 0;
        }),
      ),
    );
}

export function restoreCommand(program: Command): void {
  program
    .command('restore')
    .description('bring back a deleted secret')
    .argument('<path>', 'key path')
    .option('-e, --env <env>', 'environment (default: COFFER_ENV or dev)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  coffer restore project/consilio/old_api_key --env staging')
    .action(
      action<CommonOptions>(async ([path], opts, g) =>
        withLocalVault('coffer restore', g, async ({ vault }) => {
          const r = await withSuggestions(
            g,
            { kind: 'path', input: path!, env: envInput(opts) },
            () => vault.restore(path!, envOf(opts)),
            vault,
          );
          if (opts.json) printJson(r);
          else
            note(
              `${r.wasDeleted ? 'restored' : 'not deleted:'} ${r.path} (${r.env}) version ${r.version}`,
            );
          return 0;
        }),
      ),
    );
}
