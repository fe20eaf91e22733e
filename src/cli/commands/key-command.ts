/**
 * `coffer key status` and `coffer key rotate`: the keyring of key-encryption keys.
 */
import type { Command } from 'commander';
import { keyStatus, rotateKeys } from '../../core/keys/rotate.js';
import { action, type CommonOptions, intOption } from '../action.js';
import { withLocalVault } from '../context.js';
import { note, printJson, progressBar, table, writeOut } from '../output.js';

interface RotateOptions extends CommonOptions {
  batchSize?: number;
}

export function keyCommand(program: Command): void {
  const key = program
    .command('key')
    .description('manage the key-encryption keys')
    .addHelpText(
      'after',
      `
Each secret version has its own data key, wrapped by the primary key-encryption key; the
keyring is sealed by the master key (key file, COFFER_MASTER_KEY or passphrase).

Examples:
  coffer key status
  coffer key rotate      # a new primary key; every data key re-wrapped; resumable`,
    );

  key
    .command('status')
    .description('show key ids, which is primary, and how many data keys each wraps')
    .option('--json', 'print {primary, rotationInProgress, keys: [...]} as JSON')
    .addHelpText('after', '\nExample:\n  coffer key status')
    .action(
      action<CommonOptions>(async (_args, opts, g) =>
        withLocalVault('coffer key status', g, async ({ vault, storage }) => {
          const st = await keyStatus(vault);
          if (opts.json) {
            printJson({ ...st, storage: storage.kind });
          } else {
            writeOut(
              table(
                ['KEY', 'STATUS', 'DATA KEYS', 'CREATED', 'RETIRED'],
                st.keys.map((k) => [
                  k.id,
                  k.status,
                  String(k.wrappedKeys),
                  k.createdAt,
                  k.retiredAt ?? '-',
                ]),
              ),
            );
            if (st.rotationInProgress)
              note('a rotation is in progress; run `coffer key rotate` to finish it');
          }
          return 0;
        }),
      ),
    );

  key
    .command('rotate')
    .description('add a new key-encryption key, re-wrap every data key to it, retire the old one')
    .option(
      '--batch-size <n>',
      'data keys per transaction (default 2000)',
      intOption('--batch-size', 1),
    )
    .option('--json', 'print {newKey, resumed, rewrapped, retired} as JSON')
    .addHelpText(
      'after',
      `
The vault stays usable while it runs. If it is interrupted, run it again: it resumes.
Values are never re-encrypted; only their data keys are re-wrapped.

Example:
  coffer key rotate`,
    )
    .action(
      action<RotateOptions>(async (_args, opts, g) =>
        withLocalVault('coffer key rotate', g, async ({ vault }) => {
          const bar = progressBar('re-wrapping data keys');
          const r = await rotateKeys(vault, {
            ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
            onProgress: (p) => bar.update(p.done, p.total),
          });
          bar.end();
          if (opts.json) printJson(r);
          else {
            note(
              `${r.resumed ? 'resumed rotation: ' : ''}primary key is now ${r.newKey}; ${r.rewrapped} data keys re-wrapped`,
            );
            if (r.retired.length) note(`retired ${r.retired.join(', ')}`);
          }
          return 0;
        }),
      ),
    );
}
