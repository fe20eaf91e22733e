/**
 * `coffer verify PATH | --all`: decrypts and authenticates stored versions (the seeds'
 * "store, then read back" check) without printing any value; `--all` also checks the MAC
 * of every keyring, secret and token row and that no version a secret points to is missing.
 */
import type { Command } from 'commander';
import { CofferError } from '../../core/errors.js';
import { action, type CommonOptions } from '../action.js';
import { withService } from '../context.js';
import { EXIT, note, printJson } from '../output.js';
import { withSuggestions } from '../suggestions.js';

interface VerifyOptions extends CommonOptions {
  all?: boolean;
}

export function verifyCommand(program: Command): void {
  program
    .command('verify')
    .description('check that stored secrets decrypt and are authentic')
    .argument('[path]', 'key path (every environment unless --env)')
    .option('--all', 'check every version of every secret, every key and every stored row')
    .option('-e, --env <env>', 'only this environment')
    .option('--json', 'print {ok, checked, failures, keyFailures, rowFailures} as JSON')
    .addHelpText(
      'after',
      `
Exit code 4 when anything fails to decrypt or authenticate, a stored row was changed
outside coffer, or a version a secret points to is missing.

Examples:
  coffer verify project/consilio/stripe_api_key
  coffer verify --all --json`,
    )
    .action(
      action<VerifyOptions>(async ([path], opts, g) => {
        if ((path === undefined) === !opts.all) {
          throw new CofferError('USAGE', 'give either a key path or --all');
        }
        return withService(g, async (vault) => {
          const report =
            path === undefined
              ? await vault.verify(path, opts.env)
              : await withSuggestions(
                  g,
                  { kind: 'path', input: path, env: opts.env },
                  () => vault.verify(path, opts.env),
                  vault,
                );
          if (opts.json) {
            printJson(report);
          } else {
            for (const f of report.failures)
              note(`FAILED ${f.path} (${f.env}) version ${f.version}: ${f.code}`);
            for (const k of report.keyFailures) note(`FAILED key-encryption key ${k}`);
            for (const r of report.rowFailures ?? [])
              note(`FAILED stored row ${r}: changed outside coffer`);
            const failed =
              report.failures.length +
              report.keyFailures.length +
              (report.rowFailures ?? []).length;
            note(
              report.ok
                ? `ok: ${report.checked} version${report.checked === 1 ? '' : 's'} verified`
                : `${failed} failed (${report.checked} version${report.checked === 1 ? '' : 's'} checked)`,
            );
          }
          return report.ok ? 0 : EXIT.integrity;
        });
      }),
    );
}
