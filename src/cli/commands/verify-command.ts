/**
 * `coffer verify PATH | --all`: decrypts and authenticates stored versions (the seeds'
 * "store, then read back" check) without printing any value.
 */
import type { Command } from 'commander';
import { CofferError } from '../../core/errors.js';
import { action, type CommonOptions } from '../action.js';
import { withBackend } from '../context.js';
import { EXIT, note, printJson } from '../output.js';

interface VerifyOptions extends CommonOptions {
  all?: boolean;
}

export function verifyCommand(program: Command): void {
  program
    .command('verify')
    .description('check that stored secrets decrypt and are authentic')
    .argument('[path]', 'key path (every environment unless --env)')
    .option('--all', 'check every version of every secret and every key')
    .option('-e, --env <env>', 'only this environment')
    .option('--json', 'print {ok, checked, failures, keyFailures} as JSON')
    .addHelpText(
      'after',
      `
Exit code 4 when anything fails to decrypt or authenticate.

Examples:
  coffer verify project/consilio/stripe_api_key
  coffer verify --all --json`,
    )
    .action(
      action<VerifyOptions>(async ([path], opts, g) => {
        if ((path === undefined) === !opts.all) {
          throw new CofferError('USAGE', 'give either a key path or --all');
        }
        return withBackend(g, async (vault) => {
          const report = await vault.verify(path, opts.env);
          if (opts.json) {
            printJson(report);
          } else {
            for (const f of report.failures)
              note(`FAILED ${f.path} (${f.env}) version ${f.version}: ${f.code}`);
            for (const k of report.keyFailures) note(`FAILED key-encryption key ${k}`);
            note(
              report.ok
                ? `ok: ${report.checked} version${report.checked === 1 ? '' : 's'} verified`
                : `${report.failures.length + report.keyFailures.length} of ${report.checked} failed`,
            );
          }
          return report.ok ? 0 : EXIT.integrity;
        });
      }),
    );
}
