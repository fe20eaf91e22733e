/**
 * SARIF 2.1.0 (OASIS, https://docs.oasis-open.org/sarif/sarif/v2.1.0/) for code-scanning
 * UIs: one run, the rules that fired, one result per finding with its file, line and column.
 * The message names the rule and, for a stored value, its key path; never the secret.
 */
import type { Finding } from './types.js';

export function toSarif(findings: readonly Finding[], version: string): Record<string, unknown> {
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
