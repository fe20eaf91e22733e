/**
 * `coffer rotation status`: what is overdue, due soon, never rotated, in a grace window or
 * compromised (core/rotation/status.ts). `--fail-on-overdue` makes a scheduled CI job the
 * calendar reminder.
 */
import type { Command } from 'commander';
import { parseEnvironment, parsePathPrefix } from '../../core/paths.js';
import { parseDuration } from '../../core/rotation/duration.js';
import type { RotationStatusItem } from '../../core/rotation/status.js';
import { action, type CommonOptions } from '../action.js';
import { withService } from '../context.js';
import { note, printJson, table, writeOut } from '../output.js';

interface StatusOptions extends CommonOptions {
  project?: string;
  dueWithin?: string;
  failOnOverdue?: boolean;
}

function when(item: RotationStatusItem): string {
  if (item.state === 'in-grace' || item.state === 'grace-ended')
    return `grace until ${item.graceUntil!.slice(0, 16).replace('T', ' ')}`;
  if (item.state === 'compromised')
    return `compromised ${item.compromisedAt!.slice(0, 16).replace('T', ' ')}`;
  if (item.daysLeft === null) return '-';
  return item.daysLeft < 0 ? `${-item.daysLeft}d overdue` : `due in ${item.daysLeft}d`;
}

export function rotationCommand(program: Command): void {
  const rotation = program
    .command('rotation')
    .description('rotation policies: what is due, overdue or in a grace window')
    .addHelpText(
      'after',
      `
Policies are set with coffer describe PATH --rotation 90d or the manifest's rotation: key.

Examples:
  coffer rotation status
  coffer rotation status --fail-on-overdue`,
    );
  rotation
    .command('status')
    .description('list secrets by rotation state: overdue, due soon, in grace, never rotated')
    .option('-p, --project <project>', 'only this project (default: every secret)')
    .option('-e, --env <env>', 'only this environment (default: every environment)')
    .option('--due-within <duration>', 'what counts as due soon (default 30d)', '30d')
    .option('--fail-on-overdue', 'exit 1 when a secret is overdue or compromised (for CI)')
    .option('--json', 'print {now, items: [...], counts, overdue} as JSON')
    .addHelpText(
      'after',
      `
States: compromised, grace-ended (run rotate --finish), in-grace, overdue, due-soon,
no-policy (set one with coffer describe --rotation 90d), ok. Nothing here reads a value.

Examples:
  coffer rotation status
  coffer rotation status --project consilio --env prod --due-within 14d
  coffer rotation status --fail-on-overdue     # in a scheduled CI job: the reminder`,
    )
    .action(
      action<StatusOptions>(async (_args, opts, g) => {
        const dueWithinMs = parseDuration(opts.dueWithin ?? '30d', '--due-within');
        const prefix =
          opts.project === undefined ? undefined : parsePathPrefix(`project/${opts.project}`);
        const env = opts.env === undefined ? undefined : parseEnvironment(opts.env);
        // Locally or, with COFFER_URL, on the server (what the token may list).
        return withService(g, async (service) => {
          const report = await service.rotationStatus({ prefix, env, dueWithinMs });
          const failed = opts.failOnOverdue === true && report.overdue > 0;
          if (opts.json) {
            printJson(report);
          } else if (report.items.length === 0) {
            note('no secrets found');
          } else {
            writeOut(
              table(
                ['STATE', 'PATH', 'ENV', 'POLICY', 'AGE', 'WHEN', 'LAST ROTATED BY'],
                report.items.map((i) => [
                  i.state,
                  i.path,
                  i.env,
                  i.policy ?? '-',
                  `${i.ageDays}d`,
                  when(i),
                  i.neverRotated ? 'never rotated' : (i.rotatedBy ?? '-'),
                ]),
              ),
            );
            const c = report.counts;
            note(
              `${report.items.length} secrets: ${c.overdue} overdue, ${c['due-soon']} due within ${report.dueWithinDays}d, ` +
                `${c['in-grace'] + c['grace-ended']} in grace, ${c.compromised} compromised, ${report.neverRotated} never rotated`,
            );
            const next = report.items.filter((i) => i.action !== null && i.state !== 'no-policy');
            for (const i of next.slice(0, 10)) note(`next: ${i.action}`);
            if (next.length > 10) note(`... and ${next.length - 10} more (--json lists them)`);
          }
          return failed ? 1 : 0;
        });
      }),
    );
}
