/**
 * `coffer incident PATH`: the leak checklist as one guided, resumable command
 * (core/incident): mark compromised, rotate (grace 0 by default), list where the value went
 * and who read it, check the prevention items, write the Markdown report. Each step is
 * recorded with its time as it is done, so a second run after a kill resumes.
 * `coffer incident list`, `coffer incident close ID`.
 */
import type { Command } from 'commander';
import { closeIncident, listIncidents } from '../../core/incident/incident.js';
import { respondToIncident } from '../../core/incident/respond.js';
import { parseKeyPath } from '../../core/paths.js';
import { projectOfPath } from '../../core/project-file/index.js';
import { parseDuration } from '../../core/rotation/duration.js';
import { writtenUnder } from '../../core/rotation/places.js';
import { escapeControls } from '../../core/terminal-text.js';
import { action, type CommonOptions } from '../action.js';
import { envOf, withLocalVault } from '../context.js';
import { envHelp } from '../env-option.js';
import { promptHidden, readStdinRest, STDIN_VALUE, stdinIsTerminal } from '../input.js';
import { note, printJson, table, warn, writeOut } from '../output.js';
import { manifestHints } from './rotate-command.js';

interface IncidentOptions extends CommonOptions {
  since?: string;
  report?: string;
  force?: boolean;
  where?: string;
  grace?: string;
  valueStdin?: boolean;
}

export function incidentCommand(program: Command): void {
  const incident = program
    .command('incident')
    .description(
      'respond to a leaked secret: mark, rotate, list where it went and who read it, report',
    )
    .argument('[path]', 'key path of the leaked secret')
    .option('-e, --env <env>', envHelp())
    .option('--since <duration>', 'how far back to look for reads and writes (default 30d)', '30d')
    .option('--report <file>', 'write the Markdown post-incident report here')
    .option('--force', 'replace an existing --report file (this incident rewrites its own)')
    .option('--where <text>', 'where the leak was seen (goes into the report)')
    .option('--grace <duration>', 'grace window of the rotation (default 0)', '0')
    .option('--value-stdin', 'the new value of an external secret, from stdin')
    .option('--json', 'print the incident record as JSON')
    .addHelpText(
      'after',
      `
Running it again resumes an open incident: steps already done are not repeated.
The report holds names, times, actors, files and commands, never a value.

Examples:
  coffer incident project/agents/openai_api_key --env prod --where "pasted in a public issue" \\
      --value-stdin --report incident.md < new-key.txt
  coffer incident list
  coffer incident close inc-20260101-a1b2c3`,
    )
    .action(
      action<IncidentOptions>(async ([path], opts, g) => {
        if (path === undefined) {
          process.stderr.write(incident.helpInformation());
          return 2;
        }
        const key = parseKeyPath(path).path;
        const env = envOf(opts, projectOfPath(key));
        const sinceMs = parseDuration(opts.since ?? '30d', '--since');
        const graceMs = parseDuration(opts.grace ?? '0', '--grace');
        return withLocalVault('coffer incident', g, async ({ vault }) => {
          // As coffer rotate: the manifest's generator and previous: name apply.
          const hints = await manifestHints(key, env);
          const r = await respondToIncident(vault, {
            path: key,
            env,
            where: opts.where,
            sinceMs,
            graceMs,
            generator: hints.generator,
            previousName: hints.previousName,
            allowEnvNames: hints.allowEnvNames,
            ...(opts.report !== undefined
              ? { report: { file: opts.report, force: opts.force === true } }
              : {}),
            dir: process.cwd(),
            newValue: async () => {
              if (opts.valueStdin) return readStdinRest('value', false, STDIN_VALUE);
              if (stdinIsTerminal())
                return promptHidden(`New value for ${key}: `, {
                  multiLineHint: `Pipe a new value of several lines on stdin: \`coffer incident ${key} --value-stdin < new-key.pem\`.`,
                });
              return undefined;
            },
            onOpened: (record, resumed) =>
              note(`${resumed ? 'resumed' : 'opened'} incident ${record.id} for ${key} (${env})`),
          });
          const { incident: record, places, prevention } = r;
          if (r.rotated !== undefined)
            note(`rotated: version ${r.rotated.previousVersion} -> ${r.rotated.version}`);
          if (opts.json) {
            printJson({ incident: record, places, prevention });
            return 0;
          }
          if (places.trust.notUsed !== undefined) warn(`not listed below: ${places.trust.notUsed}`);
          // Files, commands and actors come from the audit log: shown escaped.
          const lines: string[] = [];
          for (const f of places.files) lines.push(`update file: ${f.file} (${writtenUnder(f)})`);
          for (const p of places.programs) lines.push(`restart: ${p.command}`);
          const actors = [...new Set(places.reads.map((r) => r.actor))];
          lines.push(`read by: ${actors.join(', ') || 'nobody in the window'}`);
          for (const c of prevention) lines.push(`${c.ok ? 'ok' : 'todo'}: ${c.item}: ${c.detail}`);
          writeOut(lines.map((l) => `${escapeControls(l)}\n`).join(''));
          if (opts.report !== undefined) note(`wrote ${opts.report}`);
          note(`when everything is updated: coffer incident close ${record.id}`);
          return 0;
        });
      }),
    );

  incident
    .command('list')
    .description('list incidents, open ones first')
    .option('--json', 'print {incidents: [...]} as JSON')
    .addHelpText('after', '\nExample:\n  coffer incident list')
    .action(
      action<CommonOptions>(async (_args, opts, g) =>
        withLocalVault('coffer incident list', g, async ({ vault }) => {
          const all = await listIncidents(vault);
          all.sort((a, b) => Number(a.closedAt !== null) - Number(b.closedAt !== null));
          if (opts.json) printJson({ incidents: all });
          else if (all.length === 0) note('no incidents');
          else
            writeOut(
              table(
                ['ID', 'PATH', 'ENV', 'OPENED', 'STATUS', 'STEPS'],
                all.map((i) => [
                  i.id,
                  i.path,
                  i.env,
                  i.openedAt.slice(0, 16).replace('T', ' '),
                  i.closedAt === null ? 'open' : 'closed',
                  String(i.steps.length),
                ]),
              ),
            );
          return 0;
        }),
      ),
    );

  incident
    .command('close')
    .description('close an incident once everything is updated')
    .argument('<id>', 'incident id (coffer incident list)')
    .option('--json', 'print the incident as JSON')
    .addHelpText('after', '\nExample:\n  coffer incident close inc-20260101-a1b2c3')
    .action(
      action<CommonOptions>(async ([id], opts, g) =>
        withLocalVault('coffer incident close', g, async ({ vault }) => {
          const r = await closeIncident(vault, id!);
          if (opts.json) printJson(r);
          else note(`closed ${r.id} (${r.path}, ${r.env})`);
          return 0;
        }),
      ),
    );
}
