/**
 * `coffer doctor --sarif FILE`: the failed checks as SARIF 2.1.0
 * (https://docs.oasis-open.org/sarif/sarif/v2.1.0/), so CI code-scanning shows them: one rule
 * per check (its title and why), one result per piece of evidence, located at its file and
 * line when it has one (else at the project root). A file a check could not read is a result
 * too, at level warning, located at that file. Messages are the evidence's, names only.
 */
import type { DoctorReport, Evidence, Severity } from './types.js';

const LEVEL: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'note' };

export function doctorSarif(report: DoctorReport, version: string): Record<string, unknown> {
  const failed = report.checks.filter((c) => c.status === 'fail' || c.unread.length > 0);
  const location = (e: Pick<Evidence, 'file' | 'line'>) => ({
    physicalLocation: {
      artifactLocation: {
        uri:
          e.file !== undefined && !e.file.startsWith('/') && !e.file.startsWith('~') ? e.file : '.',
      },
      ...(e.line !== undefined ? { region: { startLine: e.line } } : {}),
    },
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'coffer doctor',
            version,
            informationUri: 'https://github.com/coffer/coffer/blob/main/docs/doctor.md',
            rules: failed.map((c) => ({
              id: c.id,
              shortDescription: { text: c.title },
              fullDescription: { text: c.why },
              defaultConfiguration: { level: LEVEL[c.severity] },
              ...(c.fixes.length > 0
                ? { help: { text: c.fixes.map((f) => f.command ?? f.description).join('\n') } }
                : {}),
            })),
          },
        },
        results: failed.flatMap((c) => [
          ...c.evidence.map((e) => ({
            ruleId: c.id,
            level: LEVEL[c.severity],
            message: { text: e.message },
            locations: [location(e)],
          })),
          ...c.unread.map((u) => ({
            ruleId: c.id,
            level: 'warning',
            message: { text: u.message },
            locations: [location(u)],
          })),
        ]),
      },
    ],
  };
}
