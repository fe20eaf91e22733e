/**
 * `coffer envelope encrypt|decrypt|rewrap`: application envelopes (coffer/envelope) from the
 * command line. Only the options are declared here; each action loads its module (and the
 * database driver it needs) when it runs, so other commands do not pay for them at start-up.
 */
import type { Command } from 'commander';
import { action, intOption } from '../action.js';
import { envHelp } from '../env-option.js';
import type { RewrapCliOptions } from './envelope/rewrap-action.js';
import type { ValueCliOptions } from './envelope/value-actions.js';

const KEYS_HELP = `
Keys come from the environment: COFFER_DATA_KEYS="k2:<base64>,k1:<base64>" (the first is
primary), WORKFLOWS_ARTIFACT_ENC_KEY (base64 of 32 bytes) or CONNECTOR_SECRET_KEY (16+
characters); or from a vault secret holding such a list: --keys-from PATH [--env E].`;

function keyOptions(cmd: Command): Command {
  return cmd
    .option(
      '--keys-from <path>',
      'read the keyring from this vault secret instead of the environment',
    )
    .option('-e, --env <env>', envHelp('environment of --keys-from'))
    .option(
      '--legacy-sha256',
      'CONNECTOR_SECRET_KEY was hashed with plain SHA-256 by the app: read-only legacy key',
    )
    .option(
      '--allow-plaintext',
      'encrypt: store plaintext when no key is set; others: accept legacy plaintext rows',
    );
}

export function envelopeCommand(program: Command): void {
  const envelope = program
    .command('envelope')
    .description('encrypt application data (coffer/envelope) and rotate its keys')
    .addHelpText(
      'after',
      `
The command-line face of coffer/envelope.
${KEYS_HELP}

Examples:
  printf %s '{"access_token":"..."}' | coffer envelope encrypt --context external_accounts/access_token/42
  coffer envelope decrypt --context external_accounts/access_token/42 < envelope.json
  coffer envelope rewrap --database app.db --table external_accounts --column access_token`,
    );

  keyOptions(
    envelope
      .command('encrypt')
      .description('encrypt one JSON value from stdin into an envelope (printed on stdout)')
      .requiredOption(
        '--context <text>',
        'what the envelope is bound to, e.g. external_accounts/access_token/42',
      )
      .option('--text', 'take stdin as a string (one trailing newline removed), not as JSON')
      .option('--json', 'print {envelope, keyId} as JSON'),
  )
    .addHelpText(
      'after',
      `${KEYS_HELP}

Example:
  printf %s '{"access_token":"..."}' | coffer envelope encrypt --context external_accounts/access_token/42`,
    )
    .action(
      action<ValueCliOptions>(async (_args, opts, g) => {
        const { encryptAction } = await import('./envelope/value-actions.js');
        return encryptAction(opts, g);
      }),
    );

  keyOptions(
    envelope
      .command('decrypt')
      .description('decrypt one envelope from stdin and print its JSON value')
      .requiredOption('--context <text>', 'the context given when it was encrypted')
      .option('--text', 'print a string value as is, not as JSON')
      .option('--json', 'print {value, keyId, plaintext} as JSON'),
  )
    .addHelpText(
      'after',
      `${KEYS_HELP}

Example:
  coffer envelope decrypt --context external_accounts/access_token/42 < envelope.json`,
    )
    .action(
      action<ValueCliOptions>(async (_args, opts, g) => {
        const { decryptAction } = await import('./envelope/value-actions.js');
        return decryptAction(opts, g);
      }),
    );

  keyOptions(
    envelope
      .command('rewrap')
      .description('re-encrypt every envelope of a table column with the primary key')
      .option(
        '--database <url>',
        'a SQLite file (path or sqlite:PATH) or postgres://... (default: $DATABASE_URL)',
      )
      .requiredOption('--table <name>', 'the table (or schema.table)')
      .requiredOption('--column <name>', 'the column holding the envelopes')
      .option('--id-column <name>', 'the row id column, used for paging and the context', 'id')
      .option(
        '--context-template <template>',
        'the context of a row: {table} (without its schema), {column}, {id}',
        '{table}/{column}/{id}',
      )
      .option('--batch <n>', 'rows per transaction (default 500)', intOption('--batch', 1))
      .option('--dry-run', 'open, re-seal and verify every row, write nothing')
      .option('--json', 'print the summary as JSON'),
  )
    .addHelpText(
      'after',
      `${KEYS_HELP}

Each row is opened with the context the application sealed it with: by default
{table}/{column}/{id}, what rowContext(table, column, id) builds, where {table} is the name
without its schema (--table app.external_accounts gives external_accounts/access_token/42).
An application that built it otherwise passes its shape, e.g. --context-template
'app.{table}/{column}/{id}'.

Safe while the application runs with both keys (each row is written only if it did not
change since it was read). Interrupted? Run it again: rows already on the primary key are
skipped. Exit code 1 when any row failed; the summary lists them by id.

Example:
  COFFER_DATA_KEYS="k2:$NEW,k1:$OLD" coffer envelope rewrap --database app.db \\
      --table external_accounts --column access_token --id-column id`,
    )
    .action(
      action<RewrapCliOptions>(async (_args, opts, g) => {
        const { rewrapAction } = await import('./envelope/rewrap-action.js');
        return rewrapAction(opts, g);
      }),
    );
}
