/**
 * `coffer inject -i TEMPLATE -o OUT`: renders a template whose `{{ coffer://... }}`
 * references (core/references) are replaced by the secrets they name, read in one audited
 * batch. The output is written atomically with mode 0600 (or to stdout with `-o -`); the
 * template is never written over, and a reference that does not resolve stops the command
 * with nothing written.
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CofferError } from '../../core/errors.js';
import { writeSecretFile } from '../../core/files.js';
import {
  formatReference,
  readTemplateFile,
  references,
  resolveReferences,
} from '../../core/references/index.js';
import type { WrittenSecret } from '../../core/rotation/places.js';
import { action, type CommonOptions } from '../action.js';
import { withService } from '../context.js';
import { envHelp, envOf } from '../env-option.js';
import { note, printJson, refuseJsonWithStdout, writeOut } from '../output.js';

interface InjectOptions extends CommonOptions {
  in: string;
  out: string;
  force?: boolean;
}

function samePath(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return real(a) === real(b);
}

export function injectCommand(program: Command): void {
  program
    .command('inject')
    .description('render a template, replacing {{ coffer://... }} references with secrets')
    .requiredOption('-i, --in <template>', 'the template file')
    .requiredOption('-o, --out <file>', 'the file to write (mode 0600), or - for stdout')
    .option('-e, --env <env>', envHelp('environment of references without ?env='))
    .option('--force', 'replace the output file when it exists')
    .option('--json', 'print {file, env, references} (names only) instead of a note')
    .addHelpText(
      'after',
      `
A reference is coffer://project/NAME/SECRET or coffer://meta/SERVICE/SECRET, optionally
with ?env=ENV; \${VAR} inside it is taken from the environment (COFFER_ENV is the --env).
In a template, write it as {{ coffer://... }}; the rest of the file is copied as it is.

Examples:
  coffer inject -i config.yaml.tpl -o config.yaml --env prod
  echo 'url: postgres://app:{{ coffer://project/app/db_password }}@db/app' > db.tpl
  coffer inject -i db.tpl -o - | kubectl apply -f -`,
    )
    .action(
      action<InjectOptions>(async (_args, opts, g) => {
        const env = envOf(opts);
        const toStdout = opts.out === '-';
        refuseJsonWithStdout(opts.json, toStdout && '--out');
        if (!toStdout && samePath(opts.in, opts.out)) {
          throw new CofferError('INVALID_ARGUMENT', 'the output would write over the template', {
            hint: 'Write the rendered file somewhere else: -o config.yaml for config.yaml.tpl.',
          });
        }
        const template = readTemplateFile(opts.in);
        const vars = { ...process.env, COFFER_ENV: env };
        const refs = references(template, vars);
        if (refs.length === 0) {
          throw new CofferError(
            'INVALID_ARGUMENT',
            `${opts.in} holds no {{ coffer://... }} reference`,
            {
              hint: 'Write a reference as {{ coffer://project/NAME/SECRET }}.',
            },
          );
        }
        await withService(g, async (backend) => {
          // What was read, to record where it went: a template has no variable names, so each
          // secret is recorded as the reference whose value the output holds (never a value).
          const read = new Map<string, WrittenSecret>();
          const [rendered] = await resolveReferences(
            {
              getMany: async (r) => {
                const outcomes = await backend.getMany(r);
                for (const o of outcomes) {
                  if (!o.ok) continue;
                  const { path, env: e, version } = o.value;
                  read.set(`${path} ${e}`, {
                    path,
                    env: e,
                    version,
                    reference: formatReference(path, e),
                  });
                }
                return outcomes;
              },
            },
            [template],
            env,
            vars,
          );
          if (toStdout) {
            writeOut(rendered!);
            return;
          }
          writeSecretFile(opts.out, rendered!, {
            overwrite: opts.force === true,
            option: '--out',
          });
          // After the write: `rotate` and `incident` list this file as holding these versions.
          await backend.recordFileWrite?.(resolve(opts.out), [...read.values()], 'inject');
        });
        const names = refs.map((r) => `${r.path}${r.env ? ` (${r.env})` : ''}`);
        if (opts.json) {
          printJson({ file: toStdout ? null : opts.out, env, references: names });
        } else if (!toStdout) {
          note(
            `wrote ${opts.out} (mode 0600) with ${refs.length} reference${refs.length === 1 ? '' : 's'} resolved`,
          );
        }
        return 0;
      }),
    );
}
