/**
 * `coffer audit` and `coffer audit verify`: read the audit log and check its hash chain.
 */
import type { Command } from 'commander';
import { action, type CommonOptions, intOption } from '../action.js';
import { withBackend } from '../context.js';
import { EXIT, note, printJson, table, writeOut } from '../output.js';

interface AuditOptions extends CommonOptions {
  limit?: number;
  path?: string;
}

export function auditCommand(program: Command): void {
  const audit = program
    .command('audit')
    .description('show the audit log (who did what, when; never values)')
    .option(
      '-n, --limit <n>',
      'how many of the newest records (default 100)',
      intOption('--limit', 1),
    )
    .option('--path <path>', 'only records about this key path')
    .option('--json', 'print {records: [...]} as JSON')
    .addHelpText(
      'after',
      `
Examples:
  coffer audit -n 20
  coffer audit --path project/consilio/stripe_api_key --json
  coffer audit verify`,
    )
    .action(
      action<AuditOptions>(async (_args, opts, g) =>
        withBackend(g, async (backend) => {
          const records = await backend.audit({
            ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
            ...(opts.path !== undefined ? { path: opts.path } : {}),
          });
          if (opts.json) {
            printJson({ records });
          } else {
            writeOut(
              table(
                ['SEQ', 'TIME', 'ACTOR', 'ACTION', 'PATH', 'ENV', 'VER', 'OUTCOME', 'DETAIL'],
                records.map((r) => [
                  String(r.seq),
                  r.ts.slice(0, 19).replace('T', ' '),
                  r.actor,
                  r.action,
                  r.path ?? '-',
                  r.env ?? '-',
                  r.version === null ? '-' : String(r.version),
                  r.outcome,
                  r.detail ?? '',
                ]),
              ),
            );
          }
          return 0;
        }),
      ),
    );

  audit
    .command('verify')
    .description('check the hash chain of the audit log')
    .option('--json', 'print {ok, records, problem} as JSON')
    .addHelpText(
      'after',
      '\nExit code 4 when a record was changed, removed or reordered.\n\nExample:\n  coffer audit verify',
    )
    .action(
      action<CommonOptions>(async (_args, opts, g) =>
        withBackend(g, async (backend) => {
          const r = await backend.auditVerify();
          if (opts.json) printJson(r);
          else if (r.ok) note(`ok: ${r.records} audit records, chain intact`);
          else note(`BROKEN at record ${r.problem!.seq}: ${r.problem!.reason}`);
          return r.ok ? 0 : EXIT.integrity;
        }),
      ),
    );
}
