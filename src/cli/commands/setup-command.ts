/**
 * `coffer setup --env E`: makes the vault (and, with --write-env, a .env file) hold every
 * variable of the manifest, the way the seed's setup.sh did by hand: development generates
 * what is missing, production takes injected values from the environment or asks on a
 * terminal. The rules are core's (core/manifest/setup.ts, setup-plan.ts).
 */
import type { Command } from 'commander';
import { action, type CommonOptions } from '../action.js';
import { withService } from '../context.js';
import { envHelp, envWithFile } from '../env-option.js';
import { promptHidden, stdinIsTerminal } from '../input.js';
import { note, printJson, warn } from '../output.js';
import { allowedEnvNames, collect } from '../project-file.js';

interface SetupOptions extends CommonOptions {
  writeEnv?: string | boolean;
  dryRun?: boolean;
  generateMissing?: boolean;
  allowEnvName?: string[];
}

const VERB: Record<string, string> = {
  keep: 'kept (in the vault)',
  import: 'imported from the .env file',
  'from-env': 'taken from the environment',
  generate: 'generated',
  ask: 'entered',
  value: 'plain setting from the manifest',
  skip: 'skipped (optional)',
};

export function setupCommand(program: Command): void {
  program
    .command('setup')
    .description("store every variable of the project's manifest (coffer.yaml) for an environment")
    .option('-e, --env <env>', envHelp())
    .option('--write-env [file]', 'also write the variables into this .env file (default .env)')
    .option('--dry-run', 'print what would be done, change nothing')
    .option('--generate-missing', 'generate tier 1 secrets outside development too')
    .option(
      '--allow-env-name <NAME>',
      'let the manifest (and --write-env) use this name although coffer refuses it by default (repeatable)',
      collect,
    )
    .option('--json', 'print {project, env, steps: [{name, path, action}], dotenv}')
    .addHelpText(
      'after',
      `
Never overwrites: a value already in the vault is kept, one only in the .env file is
imported, a variable set in the environment is used (it wins over generating), generate
sources make what is still missing, and ask sources prompt with echo off on a terminal.
Without a terminal, every variable that cannot be resolved is listed and nothing is stored
(exit 1). Tier 1 secrets are generated outside development only with --generate-missing.
A second run changes nothing.

A manifest names the secrets of its own project (project/P/...); a shared meta/ secret it
names is only read, never created. A variable whose name changes how programs load code
(NODE_OPTIONS, BASH_ENV, ...: docs/injection.md) is refused, with or without --write-env,
unless the manifest's allow_env_names, the project file's or --allow-env-name allows it;
then nothing is stored or written.

Examples:
  coffer setup --env dev --write-env
  JWT_SECRET="$JWT_SECRET" coffer setup --env prod
  coffer setup --env staging --dry-run --json`,
    )
    .action(
      action<SetupOptions>(async (_args, opts, g) => {
        // Loaded on use: the manifest reader brings yaml and zod, which other commands never need.
        const { loadNearestManifest } = await import('../../core/manifest/load.js');
        const { runSetup } = await import('../../core/manifest/setup.js');
        const manifest = loadNearestManifest(process.cwd(), opts.allowEnvName ?? []);
        const env = envWithFile(opts, () => manifest.env ?? undefined);
        const dotenv =
          opts.writeEnv === undefined || opts.writeEnv === false
            ? undefined
            : opts.writeEnv === true
              ? '.env'
              : opts.writeEnv;
        const ask = stdinIsTerminal()
          ? (v: { name: string; description: string }) =>
              promptHidden(`${v.name} (${v.description}): `, {
                multiLineHint: `Give ${v.name} a value of several lines through the environment: \`${v.name}="$(cat key.pem)" coffer setup\`.`,
              })
          : undefined;
        const allowEnvNames = allowedEnvNames(manifest.project, opts.allowEnvName);
        const result = await withService(g, (b) =>
          runSetup(
            manifest,
            {
              denied: (a, t, r) => b.denied(a, t, r),
              list: (o) => b.list(o),
              info: (path, e) => b.info(path, e),
              get: (path, e) => b.get(path, e, {}),
              set: (path, e, value, o) => b.set(path, e, value, o),
              getMany: (requests) => b.getMany(requests),
              ...(b.recordFileWrite !== undefined
                ? { recordFileWrite: b.recordFileWrite.bind(b) }
                : {}),
            },
            {
              env,
              dryRun: opts.dryRun === true,
              generateMissing: opts.generateMissing === true,
              dotenv,
              processEnv: process.env,
              ask,
              allowEnvNames,
            },
          ),
        );
        if (opts.json) {
          printJson(result);
        } else {
          const prefix = result.dryRun ? 'would be ' : '';
          for (const s of result.steps) {
            note(
              `${s.name}: ${prefix}${VERB[s.action] ?? s.action}${s.reason ? ` (${s.reason})` : ''}`,
            );
          }
          if (result.dotenv) {
            note(
              result.dotenv.written
                ? `wrote ${result.dotenv.file}: ${result.dotenv.changes.map((c) => c.name).join(', ')}`
                : `${result.dotenv.file} is up to date`,
            );
          }
        }
        if (result.warning) warn(result.warning);
        return 0;
      }),
    );
}
