/**
 * `coffer audit`, `audit verify`, `audit acknowledge` and `audit head`: read the audit log,
 * check its hash chain and authenticated head, accept a break on record, and print a
 * checkpoint to keep elsewhere. The rules are in core/audit/; this file parses and prints.
 */
import type { Command } from 'commander';
import { acknowledgeAuditBreak } from '../../core/audit/acknowledge.js';
import { auditCheckpoint } from '../../core/audit/checkpoint.js';
import {
  type AuditCheckpoint,
  formatCheckpointLine,
  parseCheckpoint,
} from '../../core/audit/head.js';
import { type AuditVerifyResult, verifyAudit } from '../../core/audit/log.js';
import { CofferError, readFailure } from '../../core/errors.js';
import { READ_LIMITS, readFileLimited } from '../../core/read-limited.js';
import { action, type CommonOptions, intOption } from '../action.js';
import { withLocalVault, withService } from '../context.js';
import { readStdinRest, STDIN_CHECKPOINT } from '../input.js';
import { EXIT, note, printJson, table, writeOut } from '../output.js';

interface AuditOptions extends CommonOptions {
  limit?: number;
  path?: string;
}

interface VerifyOptions extends CommonOptions {
  checkpoint?: string;
}

interface AckOptions extends CommonOptions {
  reason: string;
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
  coffer audit verify
  coffer audit head > /mnt/offsite/coffer-audit.checkpoint`,
    )
    .action(
      action<AuditOptions>(async (_args, opts, g) =>
        withService(g, async (backend) => {
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

  auditVerifyCommand(audit);
  auditAcknowledgeCommand(audit);
  auditHeadCommand(audit);
}

/** Reads a checkpoint file (`-`: stdin) and parses it. */
async function readCheckpoint(file: string): Promise<AuditCheckpoint> {
  if (file === '-')
    return parseCheckpoint(await readStdinRest('checkpoint', true, STDIN_CHECKPOINT));
  try {
    return parseCheckpoint(
      readFileLimited(file, READ_LIMITS.checkpoint, 'an audit checkpoint').toString('utf8'),
    );
  } catch (err) {
    if (err instanceof CofferError) throw err;
    throw readFailure(file, err);
  }
}

const point = (p: { seq: number; hash: string } | null): string =>
  p === null ? 'none' : `record ${p.seq} (${p.hash.slice(0, 12)}…)`;

function printVerify(r: AuditVerifyResult): void {
  if (r.ok) note(`ok: ${r.records} audit records, chain intact`);
  else note(`BROKEN at record ${r.problem!.seq}: ${r.problem!.reason}`);
  if (r.head === 'legacy') {
    note(
      'the audit head is from an older coffer (no MAC, or one not bound to this vault); the next audited command authenticates it',
    );
  }
  for (const a of r.acknowledged) {
    note(
      `acknowledged break at record ${a.seq} (${a.ts.slice(0, 19).replace('T', ' ')}, ${a.actor}): ${a.problem}; the head was ${point(a.storedHead)}, the table ended at ${point(a.tableEnd)}; reason: ${a.reason}`,
    );
  }
  if (r.checkpoint?.ok) {
    note(
      `the chain extends the checkpoint of record ${r.checkpoint.seq} (taken ${r.checkpoint.time})`,
    );
  }
  if (!r.ok) {
    note(
      'investigate (compare with a backup or a checkpoint kept elsewhere); once you know what happened, `coffer audit acknowledge --reason TEXT` records the break',
    );
  }
}

function auditVerifyCommand(audit: Command): void {
  audit
    .command('verify')
    .description('check the hash chain of the audit log and its authenticated head')
    .option('--checkpoint <file>', 'also check a checkpoint from `coffer audit head` (- for stdin)')
    .option('--json', 'print {ok, records, problem, head, acknowledged, checkpoint} as JSON')
    .addHelpText(
      'after',
      `
Checks every record's hash and link, that the stored head carries a valid MAC under the
master key and names the chain's last record, and lists acknowledged breaks. With
--checkpoint it also checks the checkpoint's MAC and that the chain still holds its record
with its hash (needs the master key: local only).

Exit code 4 when a record was changed, removed or reordered, the tail was cut, the head was
forged, or the chain no longer extends the checkpoint.

Examples:
  coffer audit verify
  coffer audit verify --json
  coffer audit verify --checkpoint ~/offsite/coffer-audit.checkpoint`,
    )
    .action(
      action<VerifyOptions>(async (_args, opts, g) => {
        const report = (r: AuditVerifyResult): number => {
          if (opts.json) printJson(r);
          else printVerify(r);
          return r.ok ? 0 : EXIT.integrity;
        };
        if (opts.checkpoint !== undefined) {
          const checkpoint = await readCheckpoint(opts.checkpoint);
          return withLocalVault('coffer audit verify --checkpoint', g, async ({ vault }) =>
            report(await verifyAudit(vault, { checkpoint })),
          );
        }
        return withService(g, async (backend) => report(await backend.auditVerify()));
      }),
    );
}

function auditAcknowledgeCommand(audit: Command): void {
  audit
    .command('acknowledge')
    .description('accept a broken audit chain on record, so that operations work again')
    .requiredOption('--reason <text>', 'why: what happened and who checked (one line)')
    .option('--json', 'print {seq, reason, problem} as JSON')
    .addHelpText(
      'after',
      `
While the audit log's stored head and its last record disagree (records cut off the end,
a record rewritten, the head edited), every audited command fails with exit 4. Investigate
first (\`coffer audit verify\`, a backup, a checkpoint kept elsewhere). This command then
appends a record, chained onto the table's actual last record, that keeps the head the
vault had vouched for, where the table ended and your reason; \`coffer audit verify\` lists
it from then on. Breaks inside the chain that \`coffer audit verify\` reports but that do not
stop work (a record edited in place with its hash kept, records removed from the middle)
are acknowledged the same way, in the same record: verify then passes them, and reports
any later break. Needs the master key (local only). Exit code 5 when there is nothing to
acknowledge.

Example:
  coffer audit acknowledge --reason "restored vault.db from the 02:00 backup (alice)"`,
    )
    .action(
      action<AckOptions>(async (_args, opts, g) =>
        withLocalVault('coffer audit acknowledge', g, async ({ vault }) => {
          const r = await acknowledgeAuditBreak(vault, opts.reason);
          const { stored, tableEnd, mac } = r.problem;
          if (opts.json) {
            printJson({
              seq: r.seq,
              reason: r.reason,
              problem: r.problem.reason,
              storedHead: stored ?? null,
              headMac: mac,
              tableEnd: tableEnd ?? null,
            });
          } else {
            note(
              `acknowledged: ${r.problem.reason} (the head was ${point(stored ?? null)}, the table ended at ${point(tableEnd ?? null)}); record ${r.seq} keeps it`,
            );
          }
          return 0;
        }),
      ),
    );
}

function auditHeadCommand(audit: Command): void {
  audit
    .command('head')
    .description('print a checkpoint of the audit chain to keep off this machine')
    .option('--json', 'print {format, seq, hash, time, mac} as JSON')
    .addHelpText(
      'after',
      `
Whoever can edit the database could cut the audit log and, with the master key, re-sign
its head; or put back an older log and head they copied. A checkpoint kept elsewhere (a
password manager, another machine, a ticket) catches both: \`coffer audit verify
--checkpoint FILE\` checks that the chain still holds the checkpoint's record with its
hash. The checkpoint carries a MAC under the master key; it holds no secret. Refused (exit
4) while the chain is broken. Needs the master key (local only).

Text form (one line): coffer-audit-checkpoint/v1 SEQ HASH TIME MAC

Examples:
  coffer audit head > /mnt/offsite/coffer-audit.checkpoint
  coffer audit head --json
  coffer audit verify --checkpoint /mnt/offsite/coffer-audit.checkpoint`,
    )
    .action(
      action<CommonOptions>(async (_args, opts, g) =>
        withLocalVault('coffer audit head', g, async ({ vault }) => {
          const cp = await auditCheckpoint(vault);
          if (opts.json) printJson(cp);
          else writeOut(`${formatCheckpointLine(cp)}\n`);
          return 0;
        }),
      ),
    );
}
