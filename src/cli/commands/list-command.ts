/**
 * `coffer list [PREFIX]`: secrets' metadata, never their values.
 */
import type { Command } from 'commander';
import { action, type CommonOptions } from '../action.js';
import { envOf, withBackend } from '../context.js';
import { printJson, table, writeOut } from '../output.js';

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
    .option('-e, --env <env>', 'environment (default: COFFER_ENV or dev)')
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
        withBackend(g, async (vault) => {
          const items = await vault.list({
            prefix,
            env: opts.allEnvs ? undefined : envOf(opts),
            includeDeleted: opts.deleted === true,
          });
          if (opts.json) {
            printJson({ items });
          } else if (items.length === 0) {
            process.stderr.write('coffer: no secrets found\n');
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
