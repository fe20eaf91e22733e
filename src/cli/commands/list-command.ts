/**
 * `coffer list [PREFIX]`: secrets' metadata, never their values.
 */
import type { Command } from 'commander';
import { projectOfPath } from '../../core/project-file/index.js';
import { action, type CommonOptions } from '../action.js';
import { envOf, withService } from '../context.js';
import { envHelp } from '../env-option.js';
import { note, printJson, table, writeOut } from '../output.js';
import { emptyListNote, envInput, withSuggestions } from '../suggestions.js';

interface ListOptions extends CommonOptions {
  allEnvs?: boolean;
  deleted?: boolean;
}

export function listCommand(program: Command): void {
  program
    .command('list')
    .alias('ls')
    .description('list secrets (metadata only, never values)')
    .argument('[prefix]', 'project, meta, project/{project} or meta/{service}')
    .option('-e, --env <env>', envHelp())
    .option('-A, --all-envs', 'list every environment')
    .option('--deleted', 'include deleted secrets')
    .option('--json', 'print {items: [...]} as JSON')
    .addHelpText(
      'after',
      `
Examples:
  coffer list project/consilio
  coffer list meta --env prod
  coffer list --all-envs --json`,
    )
    .action(
      action<ListOptions>(async ([prefix], opts, g) =>
        withService(g, async (vault) => {
          const env = opts.allEnvs ? undefined : envInput(opts, projectOfPath(prefix ?? ''));
          const items = await withSuggestions(
            g,
            { kind: 'prefix', input: prefix ?? '', env },
            () =>
              vault.list({
                prefix,
                env: opts.allEnvs ? undefined : envOf(opts, projectOfPath(prefix ?? '')),
                includeDeleted: opts.deleted === true,
              }),
            vault,
          );
          if (opts.json) {
            printJson({ items });
          } else if (items.length === 0) {
            const hint = await emptyListNote(g, vault, prefix?.replace(/\/+$/, ''), env);
            note(
              `no secrets found${prefix ? ` under ${prefix}` : ''}${env ? ` in environment ${env}` : ''}`,
            );
            if (hint) note(`hint: ${hint}`);
          } else {
            writeOut(
              table(
                ['PATH', 'ENV', 'VERSION', 'UPDATED', 'DESCRIPTION'],
                items.map((s) => [
                  s.path + (s.deletedAt ? ' (deleted)' : ''),
                  s.env,
                  String(s.currentVersion),
                  s.updatedAt.slice(0, 19).replace('T', ' '),
                  s.description,
                ]),
              ),
            );
          }
          return 0;
        }),
      ),
    );
}
