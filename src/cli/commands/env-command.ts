/**
 * `coffer env ...`: .env files, read and written with dotenv's grammar.
 *   parse    .env text -> JSON object           format   JSON object -> .env text
 *   pull     vault -> .env (managed variables only, atomic, 0600)
 *   import   .env -> vault (descriptions from comments)
 *   example  .env -> .env.example with placeholders, never values
 */
import type { Command } from 'commander';
import { parseDotenv, setDotenvVariables, writeDotenv } from '../../core/dotenv/index.js';
import { CofferError } from '../../core/errors.js';
import { assertInjectableNamesAudited, type InjectedName } from '../../core/inject/index.js';
import { envVarNameFor, parseKeyPath } from '../../core/paths.js';
import { resolveDerived } from '../../core/references/resolve.js';
import { projectVariables } from '../../core/service/project-variables.js';
import type { SecretsService } from '../../core/service/secrets-service.js';
import { action, type CommonOptions } from '../action.js';
import { withService } from '../context.js';
import { projectAndEnv, readInput } from '../env-input.js';
import { envHelp } from '../env-option.js';
import { EXIT, note, printJson, refuseJsonWithStdout, warn, writeOut } from '../output.js';
import { allowedEnvNames, collect } from '../project-file.js';
import { assertInjectableNamesWithoutVault } from '../refused-names.js';
import { withSuggestions } from '../suggestions.js';
import { envCompareCommand } from './env-compare-command.js';
import { envExampleCommand } from './env-example-command.js';
import { envImportCommand } from './env-import-command.js';

interface FormatOptions extends CommonOptions {
  allowEnvName?: string[];
}

interface PullOptions extends CommonOptions {
  project?: string;
  file: string;
  dotenv?: string;
  check?: boolean;
  references?: boolean;
  allowEnvName?: string[];
}

export function envCommand(program: Command): void {
  const env = program
    .command('env')
    .description('read, write and sync .env files')
    .addHelpText(
      'after',
      `
The project comes from --project or a .coffer file (project=NAME) in the directory.

Examples:
  coffer env import .env --project consilio   # move an existing .env into the vault
  coffer env pull                              # write the project's secrets into .env
  coffer env example                           # .env.example with placeholders, never values
  coffer env parse .env | jq .DATABASE_URL`,
    );

  env
    .command('parse')
    .description('print the variables of a .env file as one JSON object')
    .argument('[file]', '.env file, or - for stdin (default when stdin is piped)')
    .option('--json', 'JSON output (the default; accepted for symmetry)')
    .addHelpText(
      'after',
      `
With no file, the .env text is read from stdin when it is piped; on a terminal, pass the file
(or - to type it).

Examples:
  coffer env parse .env | jq .DATABASE_URL
  cat .env.production | coffer env parse`,
    )
    .action(
      action<CommonOptions>(async ([file]) => {
        printJson(
          parseDotenv(await readInput(file, { name: 'coffer env parse', example: '.env' })),
        );
        return 0;
      }),
    );

  env
    .command('format')
    .description('turn a JSON object of strings into .env text that dotenv reads back exactly')
    .argument('[file]', 'JSON file, or - for stdin (default when stdin is piped)')
    .requiredOption('--json', 'the input is JSON')
    .option(
      '--allow-env-name <NAME>',
      'let the input set NAME although it changes how programs load code (repeatable)',
      collect,
    )
    .addHelpText(
      'after',
      `
With no file, the JSON is read from stdin when it is piped; on a terminal, pass the file.
A name that changes how programs load code (NODE_OPTIONS, LD_PRELOAD, PATH, ...: see
docs/injection.md) is refused, as coffer run and env pull refuse it, unless --allow-env-name.

Example:
  echo '{"PORT":"8080","GREETING":"hello # world"}' | coffer env format --json`,
    )
    .action(
      action<FormatOptions>(async ([file], opts, g) => {
        const text = await readInput(file, {
          name: 'coffer env format --json',
          example: 'vars.json',
        });
        let data: unknown;
        try {
          data = JSON.parse(text);
        } catch {
          throw new CofferError('INVALID_ARGUMENT', 'the input is not valid JSON');
        }
        if (typeof data !== 'object' || data === null || Array.isArray(data)) {
          throw new CofferError(
            'INVALID_ARGUMENT',
            'the input must be a JSON object of string values',
          );
        }
        for (const [k, v] of Object.entries(data)) {
          if (typeof v !== 'string')
            throw new CofferError('INVALID_ARGUMENT', `the value of ${k} is not a string`);
        }
        const vars = data as Record<string, string>;
        // Keys and values are checked first (a key dotenv cannot write has its own error),
        // then the names rule of every .env writer; nothing is printed before both pass. The
        // input is no project's: only --allow-env-name allows a name, as for run --dotenv
        // without --project.
        const out = setDotenvVariables('', vars);
        const source = file === undefined || file === '-' ? 'stdin' : file;
        await assertInjectableNamesWithoutVault(
          g,
          Object.keys(vars).map((name) => ({ name, path: source })),
          allowedEnvNames('', opts.allowEnvName),
          'write .env text with',
          'env_format',
        );
        writeOut(out);
        return 0;
      }),
    );

  env
    .command('pull')
    .description("write a project's secrets into a .env file, keeping everything else")
    .option('-p, --project <name>', 'project (default: from .coffer or coffer.yaml)')
    .option('-e, --env <env>', envHelp())
    .option('-f, --file <path>', '.env file to update (- for stdout)', '.env')
    .option('--dotenv <path>', 'same as --file (the name set, run and generate use)')
    .option('--check', 'only list (by name) what would change; exit 1 if anything would')
    .option(
      '--references',
      'write coffer:// references instead of values (a file you can commit; `coffer run --dotenv` resolves it)',
    )
    .option(
      '--allow-env-name <NAME>',
      'let a secret set NAME although it changes how programs load code (repeatable)',
      collect,
    )
    .option('--json', 'print {file, changes: [{name, action}]} as JSON')
    .addHelpText(
      'after',
      `
Only the project's variables are written; other lines, comments and order are kept. The
file is replaced atomically with mode 0600. A symbolic link is refused, never followed
(a cloned repository can ship .env -> ~/.ssh/authorized_keys), as is a directory on the way
that links out of the project, a read-only file, a device, a pipe or a directory. A temp file
a killed write left beside the file is removed by the next write. --file - prints the
variables on stdout instead.

Examples:
  coffer env pull --project consilio
  coffer env pull --env staging --file .env.staging
  coffer env pull --check
  coffer env pull --references --file .env.refs && git add .env.refs`,
    )
    .action(
      action<PullOptions>(async (_args, opts, g) => {
        if (opts.dotenv !== undefined) opts.file = opts.dotenv;
        const { project, env: e } = await withSuggestions(
          g,
          { kind: 'project', input: opts.project ?? '' },
          async () => projectAndEnv(opts),
        );
        refuseJsonWithStdout(opts.json, opts.file === '-' && '--file');
        const allowNames = allowedEnvNames(project, opts.allowEnvName);
        // The previous names of rotations whose grace window is over: their retired values
        // come out of the file.
        let ended: string[] = [];
        // The same names rule as `coffer run`: a .env file is read into programs' environments.
        // Each refused variable is audited as a denied env_pull in the vault that held it.
        const checkNames = (b: SecretsService, vars: readonly InjectedName[]) =>
          assertInjectableNamesAudited(
            vars,
            allowNames,
            { action: 'env_pull', env: e, deny: (a, t, r) => b.denied(a, t, r) },
            `write ${opts.file} with`,
          );
        // With --references no value is read: the file names each secret instead.
        const secrets = opts.references
          ? await withService(g, async (b) => {
              const refs = (await b.list({ prefix: `project/${project}`, env: e })).map((s) => {
                const name = parseKeyPath(s.path).name;
                return {
                  path: s.path,
                  envVar: s.envVar ?? envVarNameFor(name),
                  value: `coffer://${s.path}`,
                };
              });
              await checkNames(
                b,
                refs.map((s) => ({ name: s.envVar, path: s.path })),
              );
              return refs;
            })
          : await withService(g, async (b) => {
              ended = (await b.endedPreviousNames?.(project, e)) ?? [];
              // Derived values resolved, as run and export do.
              const vars = await resolveDerived(
                { getMany: (r) => b.getMany(r) },
                await projectVariables(b, project, e, 'env pull'),
                e,
              );
              await checkNames(
                b,
                vars.map((s) => ({ name: s.envVar, path: s.path })),
              );
              return vars;
            });
        const values = Object.fromEntries(secrets.map((s) => [s.envVar, s.value]));
        const r = writeDotenv(opts.file, values, {
          check: opts.check === true,
          allowStdout: true,
          remove: ended,
          // References name secrets and hold none: a file meant to be committed.
          skipGitCheck: opts.references === true,
        });
        const changes = r.changes;
        if (!opts.references && !opts.check && r.stdout === undefined && secrets.length > 0) {
          // Where the values went (rotate and incident list the files holding old ones).
          const written = secrets.map((s) => ({
            path: s.path,
            env: e,
            version: 'version' in s && typeof s.version === 'number' ? s.version : null,
            name: s.envVar,
          }));
          await withService(g, async (b) => b.recordFileWrite?.(opts.file, written, 'env pull'));
        }
        if (r.stdout !== undefined) writeOut(r.stdout);
        if (opts.json && r.stdout === undefined)
          printJson({ file: opts.file, project, env: e, check: opts.check === true, changes });
        else if (r.stdout === undefined) {
          for (const c of changes) note(`${opts.check ? 'would ' : ''}${c.action} ${c.name}`);
          note(
            changes.length === 0
              ? `${opts.file} is up to date (${secrets.length} variables from project ${project}, ${e})`
              : `${opts.check ? 'out of date' : 'wrote'} ${opts.file}: ${changes.length} of ${secrets.length} variables`,
          );
        }
        if (r.warning) warn(r.warning);
        return opts.check && changes.length > 0 ? EXIT.failure : 0;
      }),
    );

  envImportCommand(env);
  envExampleCommand(env);
  envCompareCommand(env);
}
