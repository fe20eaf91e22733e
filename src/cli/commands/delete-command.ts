/**
 * `coffer delete PATH` and `coffer restore PATH`: soft delete and its undo. `coffer restore
 * FILE` with a backup file is `coffer backup restore FILE` (backup-command.ts).
 */
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { projectOfPath } from '../../core/project-file/index.js';
import { action, type CommonOptions } from '../action.js';
import { envOf, withLocalVault } from '../context.js';
import { envHelp } from '../env-option.js';
import { note, printJson } from '../output.js';
import { envInput, withSuggestions } from '../suggestions.js';

export function deleteCommand(program: Command): void {
  program
    .command('delete')
    .alias('rm')
    .description('delete a secret (soft: `coffer restore` brings it back)')
    .argument('<path>', 'key path')
    .option('-e, --env <env>', envHelp())
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  coffer delete project/consilio/old_api_key --env staging')
    .action(
      action<CommonOptions>(async ([path], opts, g) =>
        withLocalVault('coffer delete', g, async ({ vault }) => {
          const r = await withSuggestions(
            g,
            { kind: 'path', input: path!, env: envInput(opts, projectOfPath(path!)) },
            () => vault.delete(path!, envOf(opts, projectOfPath(path!))),
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

/** A `coffer restore` argument that names a backup file rather than a key path. */
function isBackupFile(arg: string): boolean {
  return !/^(project|meta)\//.test(arg) && existsSync(arg) && statSync(arg).isFile();
}

export function restoreCommand(program: Command): void {
  program
    .command('restore')
    .description('bring back a deleted secret, or restore a backup file into an empty vault')
    .argument('<path>', 'key path, or a backup file (see coffer backup restore --help)')
    .option('-e, --env <env>', envHelp())
    .option('-i, --identity <file>', 'backup: age identity file (repeatable)', collect)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  coffer restore project/consilio/old_api_key --env staging\n  coffer restore vault.age --vault /srv/coffer/vault.db   # same as coffer backup restore',
    )
    .action(
      action<CommonOptions & { identity?: string[] }>(async ([path], opts, g) => {
        if (isBackupFile(path!)) {
          const { runRestore } = await import('./backup-command.js');
          return runRestore(path!, opts, g);
        }
        return withLocalVault('coffer restore', g, async ({ vault }) => {
          const r = await withSuggestions(
            g,
            { kind: 'path', input: path!, env: envInput(opts, projectOfPath(path!)) },
            () => vault.restore(path!, envOf(opts, projectOfPath(path!))),
            vault,
          );
          if (opts.json) printJson(r);
          else
            note(
              `${r.wasDeleted ? 'restored' : 'not deleted:'} ${r.path} (${r.env}) version ${r.version}`,
            );
          return 0;
        });
      }),
    );
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
