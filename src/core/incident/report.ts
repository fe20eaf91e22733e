/**
 * The post-incident report: Markdown from the incident record, where the secret went and who
 * read it (rotation/places.ts, from the audit log) and the prevention checks. It is made of
 * names, times, actors, files and commands only: no value is ever passed in, so none can
 * come out (a property test feeds it random values through the vault and looks for them).
 */
import type { AuditTrust } from '../audit/vouched.js';
import { type ValuePlaces, writtenUnder } from '../rotation/places.js';
import type { IncidentRecord } from '../rotation/state.js';
import { escapeControls } from '../terminal-text.js';

export interface PreventionCheck {
  item: string;
  ok: boolean;
  detail: string;
}

/** Text safe inside a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

export function incidentReport(
  incident: IncidentRecord,
  places: ValuePlaces & { trust?: AuditTrust },
  prevention: readonly PreventionCheck[],
): string {
  const out: string[] = [];
  out.push(`# Incident ${incident.id}: ${incident.path} (${incident.env})`, '');
  out.push(`- Opened: ${incident.openedAt} by ${incident.openedBy}`);
  if (incident.where !== '') out.push(`- Where it was seen: ${cell(incident.where)}`);
  out.push(
    `- Status: ${incident.closedAt === null ? 'open' : `closed ${incident.closedAt} by ${incident.closedBy}`}`,
    '',
  );
  out.push('## Timeline', '', '| time | step | detail |', '| --- | --- | --- |');
  for (const s of incident.steps) out.push(`| ${s.at} | ${cell(s.step)} | ${cell(s.detail)} |`);
  out.push('', '## Who read it', '');
  // Both lists come from the audit records the vault vouches for: say what was left out.
  const notUsed = places.trust?.notUsed;
  if (notUsed !== undefined) out.push(`Not in these lists: ${cell(notUsed)}.`, '');
  if (places.reads.length === 0) out.push('No reads in the window.');
  else {
    out.push('| time | actor | version | purpose |', '| --- | --- | --- | --- |');
    for (const r of places.reads)
      out.push(`| ${r.at} | ${cell(r.actor)} | ${r.version ?? '-'} | ${cell(r.detail ?? '')} |`);
  }
  out.push('', '## Where it must be updated', '');
  if (notUsed !== undefined) out.push(`Not in these lists: ${cell(notUsed)}.`, '');
  if (places.files.length === 0 && places.programs.length === 0)
    out.push('No file writes or program runs recorded.');
  for (const f of places.files)
    out.push(
      `- file ${cell(f.file)}: ${cell(writtenUnder(f))} (version ${f.version ?? '?'}, written by ${f.via} at ${f.at})`,
    );
  for (const p of places.programs)
    out.push(`- program ${cell(p.command)} (coffer run at ${p.at}, version ${p.version ?? '?'})`);
  out.push('', '## Prevention', '');
  for (const c of prevention) out.push(`- [${c.ok ? 'x' : ' '}] ${c.item}: ${cell(c.detail)}`);
  out.push(
    '',
    '## Review',
    '',
    '- How did it leak?',
    '- Was it used by someone else? (check the provider\u2019s logs for the window above)',
    '- What changes so it does not happen again?',
    '',
  );
  // Actors, times, files and commands come from the audit log, which anyone who can write the
  // database can edit: a report shown with `cat` runs none of their control characters.
  return out.map(escapeControls).join('\n');
}
