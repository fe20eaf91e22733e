/**
 * `coffer env import FILE --project P`: moves an existing .env file into the vault.
 * Descriptions come from the comment lines above each variable, a --description template,
 * or a prompt; secrets that exist already are skipped unless --overwrite, empty values
 * unless --allow-empty. Every variable is checked before anything is stored, and the import
 * is one transaction (Vault.setMany): all of it or nothing, unless --continue-on-error.
 */
import type { Command } from 'commander';
import { importEntries, importEnvVar } from '../../core/dotenv/index.js';
import { CofferError } from '../../core/errors.js';
import { parseDescription, parseKeyPath } from '../../core/paths.js';
import { valueBytes } from '../../core/store/vault.js';
import { action, type CommonOptions } from '../action.js';
import { withLocalVault } from '../context.js';
import { commentsAbove, projectAndEnv, readInput } from '../env-input.js';
import { envHelp } from '../env-option.js';
import { stdinIsTerminal } from '../input.js';
import { EXIT, note, printJson } from '../output.js';

interface ImportOptions extends CommonOptions {
  project?: string;
  description?: string;
  overwrite?: boolean;
  dryRun?: boolean;
  continueOnError?: boolean;
  allowEmpty?: boolean;
}

type Outcome =
  | 'imported'
  | 'updated'
  | 'skipped'
  | 'would import'
  | 'would update'
  | 'not imported'
  | 'failed';

interface Result {
  key: string;
  path: string;
  outcome: Outcome;
  reason?: string;
}

/** A variable that passed every check and is ready to store. */
interface Planned {
  result: Result;
  value: string;
  description: string | undefined;
  envVar: string | undefined;
  exists: boolean;
}

export function envImportCommand(env: Command): void {
  env
    .command('import')
    .description('store the variables of a .env file in the vault (all or nothing)')
    .argument('<file>', '.env file to import')
    .option('-p, --project <name>', 'project (default: from .coffer or coffer.yaml)')
    .option('-e, --env <env>', envHelp())
    .option(
      '-d, --description <template>',
      'description for variables without a comment; {key}, {name} and {project} are replaced',
    )
    .option('--overwrite', 'store a new version of secrets that exist already')
    .option('--allow-empty', 'import variables with an empty value too (skipped otherwise)')
    .option(
      '--continue-on-error',
      'import what passes its checks even when other variables fail (default: all or nothing)',
    )
    .option('--dry-run', 'report what would happen, change nothing')
    .option('--json', 'print {results: [{key, path, outcome, reason?}]} as JSON')
    .addHelpText(
      'after',
      `
Each variable KEY becomes project/{project}/{key in lowercase}. Its description is the
comment block right above it, for example:

  # Stripe API key for payment processing
  STRIPE_API_KEY=sk_live_...

A section header is not part of it: decoration and titles such as "# ===== Payments =====",
"## Mail" or "# API Keys" above the comment are left out, and a lone title above several
variables names the section, not the first variable. A description must say what the
secret is for ("Stripe key" or "Database" is refused).

Every variable is checked first (its name, description and value); if one fails, nothing
is imported and each problem is listed (exit 2), so a run never leaves half a file in the
vault. --continue-on-error imports the variables that pass instead. Secrets that exist
already are skipped unless --overwrite; variables with an empty value are skipped unless
--allow-empty.

Two variables that would become the same secret (API_KEY and api_key, FOO.BAR and FOO_BAR)
are refused, with their lines, before anything is imported; so is a file that is not UTF-8.

Examples:
  coffer env import .env --project consilio --dry-run
  coffer env import .env.production --project consilio --env prod -d "{key} used by the consilio API in production"`,
    )
    .action(
      action<ImportOptions>(async ([file], opts, g) => {
        const { project, env: e } = projectAndEnv(opts);
        const text = await readInput(file);
        // Refused as a whole, before the vault is opened: invalid UTF-8 (readInput) and two
        // variables that would become one secret (importEntries).
        const vars = importEntries(text);
        const comments = commentsAbove(text);
        const results: Result[] = [];
        await withLocalVault('coffer env import', g, async ({ vault }) => {
          const existing = new Set(
            (await vault.list({ prefix: `project/${project}`, env: e })).map((s) => s.path),
          );
          // 1. Check every variable; nothing is stored yet.
          const planned: Planned[] = [];
          for (const { key, value, name } of vars) {
            const path = `project/${project}/${name}`;
            const result: Result = { key, path, outcome: 'failed' };
            results.push(result);
            if (!name) {
              result.reason = 'no valid secret name can be made from this key';
              continue;
            }
            const exists = existing.has(path);
            if (exists && !opts.overwrite) {
              Object.assign(result, { outcome: 'skipped', reason: 'exists (use --overwrite)' });
              continue;
            }
            if (value === '' && !opts.allowEmpty) {
              Object.assign(result, {
                outcome: 'skipped',
                reason: 'empty value (use --allow-empty to import it)',
              });
              continue;
            }
            const comment = comments.get(key);
            const fromTemplate = opts.description
              ?.replace(/\{key\}/g, key)
              .replace(/\{name\}/g, name)
              .replace(/\{project\}/g, project);
            let description = comment ?? fromTemplate;
            let envVar: string | undefined;
            try {
              parseKeyPath(path);
              envVar = importEnvVar({ key, name });
              valueBytes(value).fill(0);
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
              if (description !== undefined && description === comment) {
                // The comment above a variable is often a section title (`# Database`): when
                // the description rule refuses it, --description's template is used instead;
                // without one, the message says where the refused description came from.
                try {
                  parseDescription(comment, path);
                } catch (err) {
                  if (!(err instanceof CofferError)) throw err;
                  if (fromTemplate === undefined) {
                    throw new CofferError(
                      err.code,
                      `the comment above ${key} is taken as its description, and ${err.message}`,
                    );
                  }
                  description = fromTemplate;
                }
              }
              if (description !== undefined) parseDescription(description, path);
            } catch (err) {
              if (!(err instanceof CofferError)) throw err;
              result.reason = err.message;
              continue;
            }
            result.outcome = exists ? 'would update' : 'would import';
            planned.push({
              result,
              value,
              description,
              envVar,
              exists,
            });
          }
          const failed = results.some((r) => r.outcome === 'failed');
          if (opts.dryRun || planned.length === 0) return;
          if (failed && !opts.continueOnError) {
            for (const p of planned) {
              p.result.outcome = 'not imported';
              p.result.reason = 'other variables failed their checks';
            }
            return;
          }
          // 2. Store. All or nothing: one transaction; a secret created meanwhile by someone
          // else (ifVersion 0) refuses the whole import.
          const writes = planned.map((p) => ({
            path: p.result.path,
            env: e,
            value: p.value,
            options: {
              description: p.description,
              metadata: p.envVar === undefined ? {} : { envVar: p.envVar },
              allowEmpty: opts.allowEmpty === true,
              ...(p.exists ? {} : { ifVersion: 0 }),
            },
          }));
          if (!opts.continueOnError) {
            await vault.setMany(writes, 'env import');
            for (const p of planned) p.result.outcome = p.exists ? 'updated' : 'imported';
            return;
          }
          // --continue-on-error: one secret at a time, failures reported and skipped.
          for (const [i, p] of planned.entries()) {
            const w = writes[i]!;
            try {
              await vault.set(w.path, w.env, w.value, w.options);
              p.result.outcome = p.exists ? 'updated' : 'imported';
            } catch (err) {
              if (!(err instanceof CofferError)) throw err;
              p.result.outcome = 'failed';
              p.result.reason = err.message;
            }
          }
        });
        const failed = results.filter((r) => r.outcome === 'failed').length;
        const ok = results.filter((r) =>
          ['imported', 'updated', 'would import', 'would update'].includes(r.outcome),
        ).length;
        const skipped = results.filter((r) => r.outcome === 'skipped').length;
        const nothing = failed > 0 && !opts.continueOnError && !opts.dryRun;
        if (opts.json) printJson({ project, env: e, dryRun: opts.dryRun === true, results });
        else {
          for (const r of results)
            note(
              `${r.outcome.padEnd(12)} ${r.key} -> ${r.path}${r.reason ? ` (${r.reason})` : ''}`,
            );
          if (nothing)
            note(
              `nothing imported: ${failed} of ${results.length} variables failed their checks; fix them, or pass --continue-on-error to import the others`,
            );
          else
            note(
              `${results.length} variables: ${ok} ${opts.dryRun ? 'would be stored' : 'stored'}, ${skipped} skipped, ${failed} failed`,
            );
        }
        // A dry run answers as the import would: refused (2) unless --continue-on-error.
        if (failed > 0 && !opts.continueOnError) return EXIT.usage;
        return failed > 0 ? EXIT.failure : 0;
      }),
    );
}
