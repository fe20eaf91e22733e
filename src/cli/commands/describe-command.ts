/**
 * `coffer describe PATH`: shows a secret's metadata, or changes it with options.
 */
import type { Command } from 'commander';
import { parseEnvVarName } from '../../core/paths.js';
import { projectOfPath } from '../../core/project-file/index.js';
import { parseRotationPolicy } from '../../core/rotation/policy.js';
import type { SecretMetadata } from '../../core/store/storage.js';
import { action, type CommonOptions, intOption } from '../action.js';
import { envOf, withLocalVault } from '../context.js';
import { envHelp } from '../env-option.js';
import { printJson, writeOut } from '../output.js';
import { envInput, withSuggestions } from '../suggestions.js';

interface DescribeOptions extends CommonOptions {
  description?: string;
  tier?: number;
  rotation?: string;
  envVar?: string;
  localOnly?: boolean;
}

export function describeCommand(program: Command): void {
  program
    .command('describe')
    .description("show or change a secret's metadata")
    .argument('<path>', 'key path')
    .option('-e, --env <env>', envHelp())
    .option('-d, --description <text>', 'new description')
    .option(
      '--tier <n>',
      'tier: 1 infrastructure, 2 third-party, 3 data-encryption key',
      intOption('--tier', 1),
    )
    .option('--rotation <policy>', 'rotation policy, e.g. 90d, 365d, on-compromise, never')
    .option(
      '--env-var <NAME>',
      'environment-variable name when injected (default: NAME uppercased)',
    )
    .option('--local-only', 'never sync or export this secret')
    .option('--no-local-only', 'allow syncing and export again')
    .option('--json', 'print the metadata as JSON')
    .addHelpText(
      'after',
      `
Examples:
  coffer describe project/consilio/stripe_api_key
  coffer describe project/consilio/stripe_api_key -d "Stripe live key for EU payments" --tier 2 --rotation 365d`,
    )
    .action(
      action<DescribeOptions>(async ([path], opts, g) => {
        const patch: Partial<SecretMetadata> = {};
        if (opts.description !== undefined) patch.description = opts.description;
        if (opts.tier !== undefined) patch.tier = opts.tier;
        // Checked here too (with core's rules) so a typo is reported before the vault opens.
        if (opts.rotation !== undefined) patch.rotation = parseRotationPolicy(opts.rotation);
        if (opts.envVar !== undefined) patch.envVar = parseEnvVarName(opts.envVar);
        if (opts.localOnly !== undefined) patch.localOnly = opts.localOnly;
        return withLocalVault('coffer describe', g, async ({ vault }) => {
          const info = await withSuggestions(
            g,
            { kind: 'path', input: path!, env: envInput(opts, projectOfPath(path!)) },
            () => {
              const env = envOf(opts, projectOfPath(path!));
              return Object.keys(patch).length
                ? vault.describe(path!, env, patch)
                : vault.info(path!, env);
            },
            vault,
          );
          if (opts.json) {
            printJson(info);
          } else {
            const rows: [string, string][] = [
              ['path', info.path],
              ['env', info.env],
              ['description', info.description],
              ['version', String(info.currentVersion)],
              ['tier', info.tier === null ? '-' : String(info.tier)],
              ['rotation', info.rotation ?? '-'],
              ['env var', info.envVar ?? '(default)'],
              ['local only', info.localOnly ? 'yes' : 'no'],
              ['created', info.createdAt],
              ['updated', info.updatedAt],
              ...(info.deletedAt ? ([['deleted', info.deletedAt]] as [string, string][]) : []),
            ];
            writeOut(`${rows.map(([k, v]) => `${`${k}:`.padEnd(13)}${v}`).join('\n')}\n`);
          }
          return 0;
        });
      }),
    );
}
