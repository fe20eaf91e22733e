/**
 * `coffer manifest init|check|schema`: the project manifest, coffer.yaml (docs/manifest.md).
 * The rules are core's (core/manifest); this file parses options and prints.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { CofferError } from '../../core/errors.js';
import { writeSecretFile } from '../../core/files.js';
import { isValidSegment, normalizeSegment } from '../../core/paths.js';
import { closestMatch } from '../../core/suggest.js';
import { action, type CommonOptions } from '../action.js';
import { withService } from '../context.js';
import { envHelp, envOf, envWithFile } from '../env-option.js';
import { note, printJson, writeOut } from '../output.js';
import { resolveProject } from '../project-file.js';

interface CheckOptions extends CommonOptions {}

interface InitOptions extends CommonOptions {
  from?: string;
  project?: string;
  out: string;
  force?: boolean;
  env?: string;
}

/** The input files `init` reads by default, in this order. */
const DEFAULT_INPUTS = ['.env.example', '.env'];

/** The project: --project, the project file's, else the directory's name. */
function initProject(flag: string | undefined): string {
  if (flag !== undefined) return resolveProject(flag).project;
  try {
    return resolveProject(undefined).project;
  } catch (err) {
    if (!(err instanceof CofferError && err.code === 'USAGE')) throw err;
  }
  const named = normalizeSegment(basename(process.cwd()));
  if (!isValidSegment(named)) {
    throw new CofferError('USAGE', 'no project name: pass --project NAME', {
      hint: 'Project names are lowercase letters, digits, - and _.',
    });
  }
  return named;
}

/** An example file by its name (.env.example, .env.sample, env.template, ...). */
function isExampleFile(file: string): boolean {
  return /example|sample|template|dist/i.test(basename(file));
}

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
  coffer manifest init --from .env.example
  coffer manifest check --env prod
  coffer manifest schema > coffer.schema.json`,
    );

  manifest
    .command('init')
    .description('write coffer.yaml from a .env file, a .env.example file or the vault')
    .option(
      '--from <source>',
      'a .env file, a .env.example file, or "vault" (default: .env.example, else .env)',
    )
    .option('-p, --project <name>', 'the project (default: project file, else directory name)')
    .option('-o, --out <file>', 'the manifest to write ("-": stdout)', 'coffer.yaml')
    .option('--force', 'replace an existing manifest')
    .option('-e, --env <env>', 'with --from vault in remote mode: the environment to list')
    .option('--json', 'print {out, project, from, variables: [{name, tier, source, ...}]}')
    .addHelpText(
      'after',
      `
Writes names, descriptions (the comment above each variable, or the vault's) and guessed
tiers and sources, each guess marked "# guess:" for you to confirm: *_SECRET and *_KEY
generated, provider keys (OPENAI_API_KEY, *_TOKEN) asked, DATABASE_URL tier 1, plain
configuration (PORT, OPENAI_BASE_URL) sensitive: false. No secret value is written: from a
.env file no value at all, from a .env.example only values that are clearly not secrets.
A variable without a usable description gets "# TODO:", and \`coffer manifest check\`
refuses the file until it says what the secret is for. An existing coffer.yaml is kept
unless --force.

Examples:
  coffer manifest init --from .env.example
  coffer manifest init --from .env --project receptor
  coffer manifest init --from vault -o - | less`,
    )
    .action(
      action<InitOptions>(async (_args, opts, g) => {
        const init = await import('../../core/manifest/init.js');
        const { MANIFEST_NAMES } = await import('../../core/manifest/load.js');
        const out = opts.out;
        if (out !== '-' && !opts.force) {
          // Writing coffer.yaml beside a coffer.yml (or the other way) would make two manifests.
          const siblings = MANIFEST_NAMES.includes(basename(out))
            ? MANIFEST_NAMES.map((n) => join(dirname(out), n))
            : [];
          const existing = [out, ...siblings].find((f) => existsSync(f));
          if (existing !== undefined) {
            throw new CofferError(
              'ALREADY_EXISTS',
              `${existing} already exists; coffer manifest init does not overwrite it`,
              { hint: 'Edit it, or pass --force to replace it.' },
            );
          }
        }
        const project = initProject(opts.project);
        let result: import('../../core/manifest/init.js').ManifestInit;
        if (opts.from === 'vault') {
          const secrets = await withService(g, (b) =>
            // The API lists one environment at a time; locally every environment.
            b.list({
              prefix: `project/${project}`,
              env: b.remote ? envOf(opts, project) : undefined,
            }),
          );
          result = init.manifestFromVault(secrets, { project });
        } else {
          const file = opts.from ?? DEFAULT_INPUTS.find((f) => existsSync(f));
          if (file === undefined) {
            throw new CofferError('USAGE', 'nothing to read: no .env.example or .env file here', {
              hint: 'Pass --from FILE (a .env or .env.example file) or --from vault.',
            });
          }
          if (!existsSync(file)) {
            const near = closestMatch(file, ['vault', ...DEFAULT_INPUTS.filter(existsSync)]);
            throw new CofferError(
              'FILE_NOT_FOUND',
              `${file} does not exist${near ? `; did you mean --from ${near}?` : ''}; nothing was written`,
              { hint: 'Pass --from FILE (a .env or .env.example file) or --from vault.' },
            );
          }
          const { readDotenvFile } = await import('../../core/dotenv/write.js');
          result = init.manifestFromDotenv(readDotenvFile(file), {
            project,
            from: isExampleFile(file) ? 'example' : 'dotenv',
            file,
          });
        }
        const text = init.formatManifestInit(result);
        if (out === '-') {
          if (!opts.json) writeOut(text);
        } else writeSecretFile(out, text, { overwrite: opts.force === true, mode: 0o644 });
        const todo = result.variables.filter((v) => v.descriptionTodo !== undefined);
        if (opts.json) {
          printJson({
            out,
            project,
            from: result.from === 'vault' ? 'vault' : result.file,
            variables: result.variables.map((v) => ({
              name: v.name,
              tier: v.tier,
              sensitive: v.sensitive,
              source: v.source?.kind ?? 'ask',
              guessed: Object.keys(v.guesses),
              needsDescription: v.descriptionTodo !== undefined,
            })),
            skipped: result.skipped,
            ...(out === '-' ? { manifest: text } : {}),
          });
        } else {
          const where = out === '-' ? 'stdout' : out;
          note(
            `wrote ${where}: ${result.variables.length} variable${result.variables.length === 1 ? '' : 's'} of ${project}; confirm the lines marked "# guess:"`,
          );
          if (todo.length > 0) {
            note(
              `${todo.length} need${todo.length === 1 ? 's' : ''} a description before \`coffer manifest check\` accepts the file: ${todo.map((v) => v.name).join(', ')}`,
            );
          }
          for (const s of result.skipped) note(`skipped ${s.name}: ${s.reason}`);
        }
        return 0;
      }),
    );

  manifest
    .command('check')
    .description('CI gate: is every required variable in the vault for this environment?')
    .option('-e, --env <env>', envHelp())
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
        const { checkManifest, manifestSecrets } = await import('../../core/manifest/check.js');
        const { manifestEnvironment } = await import('../../core/manifest/setup-plan.js');
        const m = loadNearestManifest(process.cwd());
        const env = manifestEnvironment(
          m,
          envWithFile(opts, () => m.env ?? undefined),
        );
        const secrets = await withService(g, (b) => manifestSecrets(m, env, b));
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
