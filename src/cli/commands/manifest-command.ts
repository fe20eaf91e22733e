/**
 * `coffer manifest check|schema`: the project manifest, coffer.yaml (docs/manifest.md).
 * The rules are core's (core/manifest); this file parses options and prints.
 */
import type { Command } from 'commander';
import { parseEnvironment } from '../../core/paths.js';
import { action, type CommonOptions } from '../action.js';
import { withBackend } from '../context.js';
import { printJson, writeOut } from '../output.js';

interface CheckOptions extends CommonOptions {}

export function manifestCommand(program: Command): void {
  const manifest = program
    .command('manifest')
    .description('the project manifest, coffer.yaml: check it against the vault, or write one')
    .addHelpText(
      'after',
      `
The manifest lists the variables a project needs, with descriptions, tiers and where each
value comes from per environment; it holds no secret value (docs/manifest.md).

Examples:
  coffer manifest check --env prod
  coffer manifest schema > coffer.schema.json`,
    );

  manifest
    .command('check')
    .description('CI gate: is every required variable in the vault for this environment?')
    .option('-e, --env <env>', 'environment (default: manifest env, COFFER_ENV or dev)')
    .option('--json', 'print {project, env, missing, present, plain, unmanaged, ok}')
    .addHelpText(
      'after',
      `
Reads metadata only (no value). Exit 0 when every required variable is stored, 1 when some
are missing (all named), 2 when the manifest itself is invalid (file:line:column).

Examples:
  coffer manifest check
  coffer manifest check --env prod --json`,
    )
    .action(
      action<CheckOptions>(async (_args, opts, g) => {
        // Loaded on use: the manifest reader brings yaml and zod, which other commands never need.
        const { loadNearestManifest } = await import('../../core/manifest/load.js');
        const { checkManifest } = await import('../../core/manifest/check.js');
        const { manifestEnvironment } = await import('../../core/manifest/setup-plan.js');
        const m = loadNearestManifest(process.cwd());
        const env = manifestEnvironment(
          m,
          parseEnvironment(opts.env ?? process.env.COFFER_ENV ?? m.env ?? 'dev'),
        );
        const secrets = await withBackend(g, (b) =>
          b.list({ prefix: `project/${m.project}`, env }),
        );
        const result = checkManifest(m, env, secrets);
        if (opts.json) {
          printJson(result);
        } else {
          const lines = [
            `${m.project} (${env}): ${result.present.length} stored, ${result.missing.length} missing, ${result.plain.length} plain settings`,
          ];
          for (const x of result.missing) lines.push(`missing: ${x.name} (${x.path})`);
          for (const x of result.optionalMissing)
            lines.push(`optional, not stored: ${x.name} (${x.path})`);
          for (const p of result.unmanaged) lines.push(`not in the manifest: ${p}`);
          if (result.missing.length > 0) {
            lines.push(
              `store them with \`coffer setup --env ${env}\` or \`coffer set PATH --env ${env}\``,
            );
          }
          writeOut(`${lines.join('\n')}\n`);
        }
        return result.ok ? 0 : 1;
      }),
    );

  manifest
    .command('schema')
    .description('print the JSON Schema of coffer.yaml (for editors)')
    .addHelpText('after', '\nExamples:\n  coffer manifest schema > coffer.schema.json')
    .action(
      action<CommonOptions>(async () => {
        const { manifestJsonSchema } = await import('../../core/manifest/schema.js');
        writeOut(`${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
        return 0;
      }),
    );
}
