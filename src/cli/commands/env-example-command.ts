/**
 * `coffer env example`: writes .env.example from .env with placeholders that say what goes
 * in each variable, keeping comments and order. Values that are clearly not secrets (a URL
 * under *_URL, a port under *_PORT, booleans, ...: core/dotenv/example.ts) are kept and
 * named; every other value becomes a placeholder. It warns, once per variable, when the
 * .env.example it replaces holds something that looks like a real secret (never a
 * placeholder: exampleValueLooksReal), saying what the new file holds for it. A missing or empty input is an error and
 * nothing is written, so a mistyped -f never empties .env.example.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Command } from 'commander';
import { dotenvExample, exampleValueLooksReal, parseDotenv } from '../../core/dotenv/index.js';
import { CofferError } from '../../core/errors.js';
import { writeSecretFile } from '../../core/files.js';
import { closestMatch } from '../../core/suggest.js';
import { action, type CommonOptions } from '../action.js';
import { commentsAbove, readEnvFile } from '../env-input.js';
import { envWithFile } from '../env-option.js';
import { note, printJson, warn } from '../output.js';

interface ExampleOptions extends CommonOptions {
  file: string;
  dotenv?: string;
  out: string;
  keep: boolean;
  fromManifest?: boolean;
}

/** FILE_NOT_FOUND for the input, naming the closest .env file next to it. */
function missingInput(file: string): CofferError {
  const dir = dirname(file);
  let near: string | undefined;
  try {
    const envFiles = readdirSync(dir).filter((n) => /^\.env|\.env$/.test(n));
    near = closestMatch(basename(file), envFiles);
  } catch {
    near = undefined;
  }
  const shown = near === undefined ? undefined : dir === '.' ? near : `${dir}/${near}`;
  return new CofferError(
    'FILE_NOT_FOUND',
    `${file} does not exist${shown ? `; did you mean ${shown}?` : ''}; nothing was written`,
    { hint: 'Pass the .env file to read with -f FILE (default .env).' },
  );
}

export function envExampleCommand(env: Command): void {
  env
    .command('example')
    .description('write .env.example from .env with placeholders instead of secret values')
    .option('-f, --file <path>', 'the .env file to read', '.env')
    .option('--dotenv <path>', 'same as --file (the name set, run and generate use)')
    .option('-o, --out <path>', 'the example file to write', '.env.example')
    .option('--no-keep', 'replace every value with a placeholder, plain settings too')
    .option(
      '--from-manifest',
      "write it from coffer.yaml instead: grouped, described, sources' placeholders",
    )
    .option(
      '-e, --env <env>',
      "with --from-manifest: whose sources' placeholders (default: COFFER_ENV, else the manifest's env, else dev)",
    )
    .option('--json', 'print {out, variables, placeholders, kept, suspicious} as JSON')
    .addHelpText(
      'after',
      `
Each value becomes a placeholder made from the comment above the variable, or its name:

  # Stripe API key for payment processing       # Stripe API key for payment processing
  STRIPE_API_KEY=sk_live_...              ->     STRIPE_API_KEY='<Stripe API key for payment processing>'

Values that are clearly not secrets are kept as they are, and listed by name: only when
the variable's name does not suggest a secret (*_KEY, *TOKEN*, *SECRET*, *PASSW*, *_PW,
*_PWD, *PASSCODE*, *_PIN, *UNLOCK*, *_AUTH, ...) and the value is what the name says it
holds: a URL without credentials or a host name under *_URL or *_HOST
(OPENAI_BASE_URL=https://api.openai.com/v1), a port under *_PORT, a boolean, an environment
or log level under *_ENV or LOG_LEVEL. When in doubt, a placeholder.
--no-keep makes every value a placeholder.

--from-manifest writes it from the project's coffer.yaml instead of a .env file: grouped by
each variable's group (or tier), with its description as a comment, a placeholder that
says where the value comes from, and the manifest's plain settings kept.

Examples:
  coffer env example && git add .env.example
  coffer env example --from-manifest --env dev
  coffer env example -f .env.local -o .env.local.example`,
    )
    .action(
      action<ExampleOptions>(async (_args, opts) => {
        if (opts.dotenv !== undefined) opts.file = opts.dotenv;
        if (opts.fromManifest) {
          const { loadNearestManifest } = await import('../../core/manifest/load.js');
          const { manifestEnvExample } = await import('../../core/manifest/example.js');
          const manifest = loadNearestManifest(process.cwd());
          const text = manifestEnvExample(
            manifest,
            envWithFile(opts, () => manifest.env ?? undefined),
          );
          writeSecretFile(opts.out, text, { overwrite: true, mode: 0o644 });
          const variables = manifest.variables.map((v) => v.name);
          if (opts.json) printJson({ out: opts.out, manifest: manifest.file, variables });
          else note(`wrote ${opts.out} from ${manifest.file} with ${variables.length} variables`);
          return 0;
        }
        // The input first: a missing or empty one is refused before anything is written.
        if (!existsSync(opts.file)) throw missingInput(opts.file);
        const text = readEnvFile(opts.file);
        if (Object.keys(parseDotenv(text)).length === 0) {
          throw new CofferError(
            'INVALID_ARGUMENT',
            `${opts.file} holds no variables; nothing was written`,
            { hint: 'Pass the .env file to read with -f FILE (default .env).' },
          );
        }
        const comments = commentsAbove(text);
        const example = dotenvExample(text, (key) => comments.get(key), { keep: opts.keep });
        // Values of the file being replaced that look real (placeholders and plain settings
        // do not): they may be in git history. One message per variable, saying what the new
        // file holds for it.
        const suspicious: string[] = [];
        if (existsSync(opts.out)) {
          for (const [k, v] of Object.entries(parseDotenv(readEnvFile(opts.out)))) {
            if (exampleValueLooksReal(k, v)) suspicious.push(k);
          }
          for (const k of suspicious) {
            const now = example.placeholders.includes(k)
              ? 'it is replaced by a placeholder now'
              : example.kept.includes(k)
                ? `it holds the plain setting from ${opts.file} now`
                : `${opts.file} has no ${k}, so it is gone now`;
            warn(`${opts.out}: ${k} looks like a real secret; ${now}, but check git history`);
          }
        }
        writeSecretFile(opts.out, example.text, { overwrite: true, mode: 0o644 });
        if (opts.json)
          printJson({
            out: opts.out,
            variables: Object.keys(parseDotenv(text)),
            placeholders: example.placeholders,
            kept: example.kept,
            suspicious,
          });
        else {
          note(
            `wrote ${opts.out} with ${example.placeholders.length} placeholder${example.placeholders.length === 1 ? '' : 's'}`,
          );
          if (example.kept.length > 0)
            note(
              `kept ${example.kept.length} value${example.kept.length === 1 ? '' : 's'} that ${example.kept.length === 1 ? 'is' : 'are'} not secret: ${example.kept.join(', ')} (--no-keep replaces them too)`,
            );
        }
        return 0;
      }),
    );
}
