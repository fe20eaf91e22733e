/**
 * `coffer env import FILE --project P`: moves an existing .env file into the vault.
 * Descriptions come from the comment lines above each variable, a --description template,
 * or a prompt; secrets that exist already are skipped unless --overwrite.
 */
import type { Command } from 'commander';
import { importEntries } from '../../core/dotenv/index.js';
import { CofferError } from '../../core/errors.js';
import { envVarNameFor, parseDescription } from '../../core/paths.js';
import { action, type CommonOptions } from '../action.js';
import { withLocalVault } from '../context.js';
import { stdinIsTerminal } from '../input.js';
import { EXIT, note, printJson } from '../output.js';
import { commentsAbove, projectAndEnv, readInput } from './env-command.js';

interface ImportOptions extends CommonOptions {
  project?: string;
  description?: string;
  overwrite?: boolean;
  dryRun?: boolean;
}

type Outcome = 'imported' | 'updated' | 'skipped' | 'would import' | 'would update' | 'failed';

export function envImportCommand(env: Command): void {
  env
    .command('import')
    .description('store the variables of a .env file in the vault')
    .argument('<file>', '.env file to import')
    .option('-p, --project <name>', 'project (default: from .coffer or coffer.yaml)')
    .option('-e, --env <env>', 'environment (default: project file, COFFER_ENV or dev)')
    .option(
      '-d, --description <template>',
      'description for variables without a comment; {key}, {name} and {project} are replaced',
    )
    .option('--overwrite', 'store a new version of secrets that exist already')
    .option('--dry-run', 'report what would happen, change nothing')
    .option('--json', 'print {results: [{key, path, outcome, reason?}]} as JSON')
    .addHelpText(
      'after',
      `
Each variable KEY becomes project/{project}/{key in lowercase}. Its description is the
comment block right above it, for example:

  # Stripe API key for payment processing
  STRIPE_API_KEY=sk_live_...

Two variables that would become the same secret (API_KEY and api_key, FOO.BAR and FOO_BAR)
are refused, with their lines, before anything is imported; so is a file that is not UTF-8.

Examples:
  coffer env import .env --project consilio --dry-run
  coffer env import .env.production --project consilio --env prod -d "{key} for the consilio API"`,
    )
    .action(
      action<ImportOptions>(async ([file], opts, g) => {
        const { project, env: e } = projectAndEnv(opts);
        const text = await readInput(file);
        // Refused as a whole, before the vault is opened: invalid UTF-8 (readInput) and two
        // variables that would become one secret (importEntries).
        const vars = importEntries(text);
        const comments = commentsAbove(text);
        const results: { key: string; path: string; outcome: Outcome; reason?: string }[] = [];
        await withLocalVault('coffer env import', g, async ({ vault }) => {
          const existing = new Set(
            (await vault.list({ prefix: `project/${project}`, env: e })).map((s) => s.path),
          );
          for (const { key, value, name } of vars) {
            const path = `project/${project}/${name}`;
            if (!name) {
              results.push({
                key,
                path,
                outcome: 'failed',
                reason: 'no valid secret name can be made from this key',
              });
              continue;
            }
            const exists = existing.has(path);
            if (exists && !opts.overwrite) {
              results.push({ key, path, outcome: 'skipped', reason: 'exists (use --overwrite)' });
              continue;
            }
            let description =
              comments.get(key) ??
              opts.description
                ?.replace(/\{key\}/g, key)
                .replace(/\{name\}/g, name)
                .replace(/\{project\}/g, project);
            try {
              if (description === undefined && !exists) {
                if (!stdinIsTerminal() || opts.dryRun) {
                  throw new CofferError(
                    'INVALID_DESCRIPTION',
                    'no description (add a comment above it or pass --description)',
                  );
                }
                const { promptLine } = await import('../input.js');
                description = await promptLine(`Description of ${key} (what is it for?): `);
              }
              if (description !== undefined) parseDescription(description);
              if (opts.dryRun) {
                results.push({ key, path, outcome: exists ? 'would update' : 'would import' });
                continue;
              }
              await vault.set(path, e, value, {
                description,
                metadata: envVarNameFor(name) === key ? {} : { envVar: key },
              });
              results.push({ key, path, outcome: exists ? 'updated' : 'imported' });
            } catch (err) {
              if (!(err instanceof CofferError)) throw err;
              results.push({ key, path, outcome: 'failed', reason: err.message });
            }
          }
        });
        const failed = results.filter((r) => r.outcome === 'failed').length;
        if (opts.json) printJson({ project, env: e, dryRun: opts.dryRun === true, results });
        else {
          for (const r of results)
            note(
              `${r.outcome.padEnd(12)} ${r.key} -> ${r.path}${r.reason ? ` (${r.reason})` : ''}`,
            );
          note(`${results.length} variables: ${results.length - failed} ok, ${failed} failed`);
        }
        return failed > 0 ? EXIT.failure : 0;
      }),
    );
}
