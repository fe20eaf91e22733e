/**
 * `coffer set PATH`: stores a new version of a secret. The value comes from stdin when it is
 * piped, from a hidden prompt on a terminal, or (discouraged) from --value.
 */
import { type Command, Option } from 'commander';
import { type DotenvWrite, formatDotenvValue, writeDotenv } from '../../core/dotenv/index.js';
import { CofferError } from '../../core/errors.js';
import { assertInjectableNamesAudited } from '../../core/inject/index.js';
import {
  envVarNameFor,
  parseDescription,
  parseEnvVarName,
  parseKeyPath,
} from '../../core/paths.js';
import { projectOfPath } from '../../core/project-file/index.js';
import type { SecretsService } from '../../core/service/secrets-service.js';
import { assertValueGiven } from '../../core/store/vault.js';
import { action, type CommonOptions, intOption } from '../action.js';
import { envOf, withService } from '../context.js';
import { envHelp } from '../env-option.js';
import {
  promptHidden,
  readStdinRest,
  STDIN_VALUE,
  stdinHoldsInput,
  stdinIsTerminal,
} from '../input.js';
import { note, printJson, warn } from '../output.js';
import { allowedEnvNames, collect } from '../project-file.js';
import { envInput, withSuggestions } from '../suggestions.js';

interface SetOptions extends CommonOptions {
  description?: string;
  ifVersion?: number;
  value?: string;
  raw?: boolean;
  envFile?: string | undefined;
  dotenv?: string;
  file?: string;
  envVar?: string;
  allowEnvName?: string[];
  allowEmpty?: boolean;
}

/**
 * The env-var name the vault holds for a secret (`coffer describe --env-var`), or null when
 * it sets none or the secret does not exist yet (a deleted one keeps its metadata: a set
 * revives it with them).
 */
async function storedEnvVar(
  vault: SecretsService,
  path: string,
  env: string,
): Promise<string | null> {
  try {
    return (await vault.info(path, env)).envVar;
  } catch (err) {
    if (err instanceof CofferError && err.code === 'SECRET_NOT_FOUND') return null;
    throw err;
  }
}

export function setCommand(program: Command): void {
  program
    .command('set')
    .description('store a secret (value from stdin or a hidden prompt)')
    .argument('<path>', 'key path: project/{project}/{name} or meta/{service}/{name}')
    .option('-d, --description <text>', 'what the secret is for (required when creating)')
    .option('-e, --env <env>', envHelp())
    .option(
      '--if-version <n>',
      'only store if the current version is n (0: must not exist)',
      intOption('--if-version'),
    )
    .option('--value <value>', 'take the value from argv (visible to other processes; avoid)')
    .option('--raw', 'store stdin byte for byte (keep a trailing newline)')
    .option('--allow-empty', 'store an empty value (refused otherwise: usually an unset variable)')
    .option('-f, --dotenv <path>', 'after storing, also write the variable into this .env file')
    .addOption(new Option('--file <path>', 'same as --dotenv').hideHelp())
    .option(
      '--env-var <NAME>',
      "variable name in the .env file (default: the secret's env-var name, or its name uppercased)",
    )
    .option(
      '--allow-env-name <NAME>',
      'let --dotenv set NAME although it changes how programs load code (repeatable)',
      collect,
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The value is read from stdin when it is piped (one trailing newline is dropped unless --raw),
or asked for without echo on a terminal. --value with a value on stdin as well is refused. An empty value (an empty pipe, an unset variable,
Enter at the prompt) is refused and nothing is stored, unless --allow-empty. The prompt takes
one line: a paste of several lines is refused whole (none of it is stored or left for the
shell); pipe such a value instead, e.g. a PEM key: coffer set PATH -d TEXT < key.pem.

Examples:
  printf %s "$STRIPE_KEY" | coffer set project/consilio/stripe_api_key \\
      --description "Stripe API key for payment processing"
  coffer set meta/cloudflare/api_token -d "Cloudflare API token for DNS updates" --env prod
  coffer set project/consilio/stripe_api_key --if-version 3 < new-key.txt
  coffer set project/consilio/jwt_secret -d "JWT signing secret for authentication" --dotenv .env

With --dotenv the vault is written first; if that fails, the .env file is not touched.`,
    )
    .action(
      action<SetOptions>(async ([path], opts, g) => {
        opts.envFile = opts.dotenv ?? opts.file;
        const env = envOf(opts, projectOfPath(path!));
        // Refuse a bad path or description before asking for the value.
        const key = await withSuggestions(
          g,
          { kind: 'path', input: path!, env: envInput(opts, projectOfPath(path!)), creating: true },
          async () => parseKeyPath(path!),
        );
        if (opts.description !== undefined) parseDescription(opts.description, key.path);
        const envVar = opts.envVar !== undefined ? parseEnvVarName(opts.envVar) : undefined;
        const allowNames =
          opts.envFile !== undefined
            ? allowedEnvNames(key.scope === 'project' ? key.group : '', opts.allowEnvName)
            : [];
        return withService(g, async (vault) => {
          // A refused name is audited as a denied `set` in the vault (never the value, which
          // is not even asked for yet).
          const checkName = (name: string, path: string, inEnv: string) =>
            assertInjectableNamesAudited(
              [{ name, path }],
              allowNames,
              { action: 'set', env: inEnv, deny: (a, t, r) => vault.denied(a, t, r) },
              `write ${opts.envFile} with`,
            );
          // The variable the .env file gets (--env-var, else the env-var name the vault holds
          // for the secret, else its name uppercased) is checked before the value is asked
          // for and stored: a refused name stores nothing ...
          let variable: string | undefined;
          if (opts.envFile !== undefined) {
            variable =
              envVar ?? (await storedEnvVar(vault, key.path, env)) ?? envVarNameFor(key.name);
            await checkName(variable, key.path, env);
          }
          let value: string;
          let source: string;
          if (opts.value !== undefined) {
            // A value piped as well would be dropped without a word: which one was meant?
            if (stdinHoldsInput()) {
              throw new CofferError(
                'USAGE',
                `a value was given both with --value and on stdin; nothing was stored at ${key.path}`,
                {
                  hint: 'Give it one way: pipe it on stdin without --value (argv is visible to other processes), or leave stdin empty.',
                },
              );
            }
            warn(
              '--value puts the secret in argv, where other processes can read it; prefer stdin',
            );
            value = opts.value;
            source = '--value is empty';
          } else if (stdinIsTerminal() && !g.passphraseStdin) {
            // What the vault would refuse whatever is typed (a new secret without a
            // description, a stale --if-version) is said before the value is asked for, not
            // after it was typed and thrown away. In remote mode the server checks it (an
            // older server without the check lets it pass, and refuses the set itself).
            await vault.checkSet?.(key.path, env, {
              description: opts.description,
              ifVersion: opts.ifVersion,
            });
            value = await promptHidden(`Value for ${path} (${env}): `, {
              multiLineHint: `Pipe a value of several lines on stdin: \`coffer set ${key.path} < key.pem\` (--raw keeps its final newline).`,
            });
            source = 'nothing was typed at the prompt';
          } else {
            value = await readStdinRest('value', opts.raw === true, STDIN_VALUE);
            source = 'stdin was empty (an unset variable, an empty file or </dev/null?)';
          }
          assertValueGiven(value, key.path, env, opts.allowEmpty, source);
          // A value no .env quoting carries safely is refused before it is stored, not after.
          if (variable !== undefined) formatDotenvValue(variable, value);
          const r = await vault.set(path!, env, value, {
            description: opts.description,
            ifVersion: opts.ifVersion,
            ...(opts.allowEmpty === true ? { allowEmpty: true } : {}),
          });
          let envFile: { file: string; variable: string } | undefined;
          let envWrite: DotenvWrite | undefined;
          if (opts.envFile !== undefined) {
            // Store first, .env second: this runs only after the vault accepted the value.
            const info = await vault.info(r.path, r.env);
            const stored = envVar ?? info.envVar ?? envVarNameFor(key.name);
            // ... and again if the stored env-var name changed meanwhile (a describe --env-var
            // between the check and the set): never written, though the value is stored.
            if (stored !== variable) await checkName(stored, r.path, r.env);
            variable = stored;
            try {
              envWrite = writeDotenv(opts.envFile, { [variable]: value });
            } catch (err) {
              if (!(err instanceof CofferError)) throw err;
              // The vault has the value: say so, or the user thinks nothing happened.
              throw new CofferError(
                err.code,
                `stored ${r.path} (${r.env}) version ${r.version}, but ${opts.envFile} was not changed: ${err.message}`,
                { ...(err.hint !== undefined ? { hint: err.hint } : {}), cause: err },
              );
            }
            envFile = { file: opts.envFile, variable };
            await vault.recordFileWrite?.(
              opts.envFile,
              [{ path: r.path, env: r.env, version: r.version, name: variable }],
              'set',
            );
          }
          if (opts.json) printJson({ ...r, ...(envFile ? { envFile } : {}) });
          else {
            note(`${r.created ? 'created' : 'updated'} ${r.path} (${r.env}) version ${r.version}`);
            if (envFile) note(`wrote ${envFile.variable} to ${envFile.file}`);
          }
          if (envWrite?.warning) warn(envWrite.warning);
          return 0;
        });
      }),
    );
}
