/**
 * SARIF 2.1.0 (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/) for code-scanning
 * UIs: one run, the rules that fired, one result per finding with its file, line and column.
 * The message names the rule and, for a stored value, its key path; never the secret. Files
 * not scanned (binary content, a read error, a line too long) are the run's tool execution
 * notifications (level warning, the reason as the descriptor's id), not results: nothing was
 * found in them, and nothing may be taken as clean either.
 */
import type { Finding } from './types.js';

export function toSarif(
  findings: readonly Finding[],
  version: string,
  notScanned: readonly { readonly file: string; readonly reason: string }[] = [],
): Record<string, unknown> {
  const rules = new Map<string, string>();
  for (const f of findings) {
    if (!rules.has(f.ruleId)) {
      rules.set(
        f.ruleId,
        f.keyPath !== undefined ? 'a value stored in the coffer vault' : f.description,
      );
    }
  }
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'coffer',
            version,
            rules: [...rules].map(([id, text]) => ({ id, shortDescription: { text } })),
          },
        },
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: notScanned.map((u) => ({
              level: 'warning',
              descriptor: { id: u.reason },
              message: { text: `${u.file} was not scanned (${u.reason})` },
              locations: [{ physicalLocation: { artifactLocation: { uri: u.file } } }],
            })),
          },
        ],
        results: findings.map((f) => ({
          ruleId: f.ruleId,
          level: 'error',
          message: {
            text:
              f.keyPath !== undefined
                ? `the value of ${f.keyPath} (${f.env}) is here (${f.encoding})${f.commit ? ` in commit ${f.commit}` : ''}`
                : `${f.description}${f.commit ? ` in commit ${f.commit}` : ''}`,
          },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: f.file },
                region: { startLine: f.line, startColumn: f.column, endColumn: f.endColumn },
              },
            },
          ],
        })),
      },
    ],
  };
}
