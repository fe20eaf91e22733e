/**
 * `coffer generate NAME`: makes a random secret with the OS CSPRNG and puts it where it is
 * needed: the vault (--store, first), a .env file (--dotenv, second), or stdout when
 * neither is given. Idempotent: an existing value is kept ("skipped") unless --force.
 */
import { type Command, Option } from 'commander';
import { parseDotenv, readDotenvFile, writeDotenv } from '../../core/dotenv/index.js';
import { CofferError } from '../../core/errors.js';
import { realFilePath } from '../../core/files.js';
import {
  type ByteKind,
  type CharKind,
  ensureGenerated,
  formatGeneratorSpec,
  type GeneratorSpec,
  generateSecret,
  isFixedKind,
  isGeneratorKind,
  KINDS,
  MIN_SECRET_CHARS,
  minimumSize,
  resolveGeneratorSpec,
} from '../../core/generate/index.js';
import { gitIgnoreWarning } from '../../core/git.js';
import { assertInjectableNamesAudited } from '../../core/inject/index.js';
import { parseEnvVarName, parseKeyPath } from '../../core/paths.js';
import { projectOfPath } from '../../core/project-file/index.js';
import { action, type CommonOptions, intOption } from '../action.js';
import { envOf, withLocalVault } from '../context.js';
import { envHelp } from '../env-option.js';
import { note, printJson, warn, writeOut } from '../output.js';
import { allowedEnvNames, collect } from '../project-file.js';
import { assertInjectableNamesWithoutVault } from '../refused-names.js';

interface GenerateOptions extends CommonOptions {
  kind: string;
  bytes?: number;
  length?: number;
  envFile?: string | undefined;
  dotenv?: string;
  file?: string;
  store?: string;
  description?: string;
  force?: boolean;
  allowWeak?: boolean;
  allowEnvName?: string[];
}

function specOf(opts: GenerateOptions): GeneratorSpec {
  if (!isGeneratorKind(opts.kind)) {
    throw new CofferError('INVALID_ARGUMENT', `unknown kind "${opts.kind}"`, {
      hint: `Kinds: ${KINDS.join(', ')}.`,
    });
  }
  const kind = opts.kind;
  const weak = opts.allowWeak === true;
  if (isFixedKind(kind)) {
    if (opts.bytes !== undefined || opts.length !== undefined) {
      throw new CofferError('INVALID_ARGUMENT', `--bytes and --length do not apply to ${kind}`);
    }
    return { kind };
  }
  if (kind === 'alnum' || kind === 'password') {
    if (opts.bytes !== undefined)
      throw new CofferError('INVALID_ARGUMENT', `${kind} takes --length, not --bytes`);
    if (!weak) checkSize(kind, '--length', opts.length);
    return { kind, ...(opts.length !== undefined ? { length: opts.length } : {}), allowWeak: weak };
  }
  if (opts.length !== undefined)
    throw new CofferError('INVALID_ARGUMENT', `${kind} takes --bytes, not --length`);
  if (!weak) checkSize(kind, '--bytes', opts.bytes);
  return { kind, ...(opts.bytes !== undefined ? { bytes: opts.bytes } : {}), allowWeak: weak };
}

/** A size under core's floor, refused in the CLI's words: on the command line, --allow-weak. */
function checkSize(kind: ByteKind | CharKind, flag: string, size: number | undefined): void {
  const min = minimumSize(kind);
  if (size === undefined || size >= min) return;
  throw new CofferError(
    'INVALID_ARGUMENT',
    `${flag} ${size} makes a ${kind} secret of fewer than ${MIN_SECRET_CHARS} characters`,
    {
      hint: `Use ${flag} ${min} or more, or pass --allow-weak to allow a shorter secret on purpose.`,
    },
  );
}

export function generateCommand(program: Command): void {
  program
    .command('generate')
    .description('generate a random secret and store it in the vault and/or a .env file')
    .argument('<name>', 'environment-variable name, e.g. CONNECTOR_SECRET_KEY')
    .option('-k, --kind <kind>', `${KINDS.join('|')}`, 'base64')
    .option(
      '--bytes <n>',
      'random bytes for base64, hex, urlsafe, jwt (default 32; jwt 64)',
      intOption('--bytes', 1),
    )
    .option(
      '--length <n>',
      'characters for alnum, password (default 32; password 24)',
      intOption('--length', 1),
    )
    .option('-f, --dotenv <path>', 'write NAME=value into this .env file')
    .addOption(new Option('--file <path>', 'same as --dotenv').hideHelp())
    .option('--store <path>', 'store in the vault at this key path (before the .env file)')
    .option('-d, --description <text>', 'description for --store')
    .option('-e, --env <env>', envHelp('environment for --store'))
    .option('--force', 'replace an existing value')
    .option('--allow-weak', 'allow a --bytes or --length that makes a key under 16 characters')
    .option(
      '--allow-env-name <NAME>',
      'let NAME be written or stored although it changes how programs load code (repeatable)',
      collect,
    )
    .option(
      '--json',
      'print {name, kind, action, source, stored, envFile, changed} as JSON (never the value)',
    )
    .addHelpText(
      'after',
      `
Without --store or --dotenv the value is printed on stdout. An existing value (in the
vault at --store, or NAME in --dotenv) is kept unless --force; replacing it makes data
encrypted with the old key unreadable. With both, a value on one side is copied to the
other; when the vault and the file hold different values nothing is changed and the
command fails (exit 5) until you decide which one is in use.

Examples:
  coffer generate CONNECTOR_SECRET_KEY --dotenv .env
  coffer generate JWT_SECRET --kind jwt --store project/myproject/jwt_secret \\
      -d "JWT signing secret for authentication" --dotenv .env
  coffer generate ENCRYPTION_KEY --kind fernet --dotenv .env
  coffer generate ADMIN_PASSWORD --kind password --length 32

In package.json:
  "generate:connector-key": "coffer generate CONNECTOR_SECRET_KEY --dotenv .env"`,
    )
    .action(
      action<GenerateOptions>(async ([name], opts, g) => {
        opts.envFile = opts.dotenv ?? opts.file;
        const variable = parseEnvVarName(name!);
        const spec = specOf(opts);
        if (resolveGeneratorSpec(spec).weak) {
          warn(`${variable} will be shorter than 16 characters (--allow-weak): easier to guess`);
        }
        const storeKey = opts.store !== undefined ? parseKeyPath(opts.store) : undefined;
        const storePath = storeKey?.path;
        // NAME goes into a .env file, or becomes the stored secret's env-var name: the same
        // rule as every injection, checked before anything is generated or stored. A refusal
        // is audited as a denied `generate`: with --store in that vault; with --dotenv alone,
        // which needs no vault, in this machine's vault when there is one (refused-names.ts:
        // with none, there is no log to write to).
        const names = [{ name: variable, path: storePath ?? '--dotenv' }];
        const allowNames = allowedEnvNames(
          storeKey?.scope === 'project' ? storeKey.group : '',
          opts.allowEnvName,
        );
        const verb = opts.envFile !== undefined ? `write ${opts.envFile} with` : 'store';
        if (storeKey === undefined && opts.envFile !== undefined) {
          await assertInjectableNamesWithoutVault(g, names, allowNames, verb, 'generate');
        }
        const fromFile =
          opts.envFile !== undefined
            ? parseDotenv(readDotenvFile(opts.envFile))[variable]
            : undefined;
        if (storePath === undefined && opts.envFile === undefined) {
          if (opts.json) {
            // --json promises a report without the value; without a target the value is all
            // there is to print, and a script asking for JSON must not get a bare secret.
            throw new CofferError('USAGE', '--json needs --store or --dotenv', {
              hint: 'Without them the output is the value itself: drop --json, or store it with --store PATH / write it with --dotenv FILE.',
            });
          }
          writeOut(`${generateSecret(spec)}\n`);
          return 0;
        }
        const run = async (vault?: import('../../core/store/vault.js').Vault) => {
          const env = envOf(opts, storePath === undefined ? undefined : projectOfPath(storePath));
          // One rule for every front end (core/generate/ensure.ts): an existing value is kept,
          // a vault and a file that disagree are a conflict, --force replaces both.
          const r = await ensureGenerated({
            spec,
            force: opts.force === true,
            store:
              vault && storePath
                ? {
                    vault,
                    path: storePath,
                    env,
                    description: opts.description,
                    metadata: { envVar: variable },
                  }
                : undefined,
            file:
              opts.envFile !== undefined
                ? { name: opts.envFile, variable, value: fromFile }
                : undefined,
          });
          if (r.action === 'replaced') {
            warn(
              `replacing ${variable}: data encrypted or signed with the old value becomes unreadable`,
            );
          }
          // Store first (done above), .env second.
          if (opts.envFile !== undefined && r.writeFile) {
            writeDotenv(opts.envFile, { [variable]: r.value }, { skipGitCheck: true });
            if (vault && storePath) {
              const { recordFileWrite } = await import('../../core/rotation/places.js');
              await recordFileWrite(
                vault,
                realFilePath(opts.envFile),
                [{ path: storePath, env, version: r.stored?.version ?? null, name: variable }],
                'generate',
              );
            }
          }
          const act = r.action === 'kept' ? 'skipped' : r.action;
          const result = {
            name: variable,
            kind: spec.kind,
            action: act,
            source: r.source,
            stored: storePath ?? null,
            envFile: opts.envFile ?? null,
            changed: {
              stored: r.stored !== undefined,
              envFile: opts.envFile !== undefined && r.writeFile,
            },
          };
          const where = storePath ? `${storePath} (${env})` : '';
          if (opts.json) printJson(result);
          else if (r.action !== 'kept')
            note(
              `${act} ${variable} (${formatGeneratorSpec(spec)})${storePath ? ` -> ${storePath}` : ''}${opts.envFile ? ` -> ${opts.envFile}` : ''}`,
            );
          else if (r.source === 'vault' && r.writeFile)
            note(
              `kept ${variable} from the vault (${where}, version ${r.version}); wrote it to ${opts.envFile}`,
            );
          else if (r.source === 'file' && r.stored)
            note(
              `kept ${variable} from ${opts.envFile}; stored it at ${where} version ${r.stored.version}`,
            );
          else
            note(
              `skipped ${variable}: a value exists already${storePath ? ` in the vault (${where})` : ''}${storePath && opts.envFile ? ' and' : ''}${opts.envFile ? ` in ${opts.envFile}` : ''} (use --force to replace it)`,
            );
          if (opts.envFile) {
            const w = gitIgnoreWarning(opts.envFile);
            if (w) warn(w);
          }
          return 0;
        };
        return storePath
          ? withLocalVault('coffer generate --store', g, async ({ vault }) => {
              await assertInjectableNamesAudited(
                names,
                allowNames,
                {
                  action: 'generate',
                  env: envOf(opts, projectOfPath(storePath)),
                  deny: (a, t, r) => vault.recordDenied(a, t, r),
                },
                verb,
              );
              return run(vault);
            })
          : run();
      }),
    );
}
