/**
 * The one table of secret shapes: redaction's patterns are derived from the scanner's rules,
 * so what the scanner reports with a rule that has a redaction name, redaction hides.
 */
import { describe, expect, it } from 'vitest';
import { generateCorpus } from '../../../test/helpers/scan-corpus.js';
import { createRedactor, SECRET_PATTERNS } from '../redact/index.js';
import { PATTERN_HINT } from '../redact/patterns.js';
import { PROVIDER_HINT, PROVIDER_RULES, SECRET_RULES } from './rules.js';
import { scanText } from './scanner.js';

describe('the shared rule table', () => {
  it('has unique ids, and every redaction name is a pattern made of its rules', () => {
    const ids = SECRET_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const names = new Set(SECRET_RULES.flatMap((r) => (r.redact ? [r.redact] : [])));
    expect(new Set(SECRET_PATTERNS.map((p) => p.name))).toEqual(names);
    for (const p of SECRET_PATTERNS) {
      for (const r of SECRET_RULES.filter((x) => x.redact === p.name)) {
        expect(p.regex.source).toContain((r.redactRegex ?? r.regex).source);
      }
    }
    expect(PROVIDER_RULES.every((r) => r.scan !== false)).toBe(true);
  });

  const corpus = generateCorpus(4242, { perFamily: 6, perDecoy: 1 });
  const redactor = createRedactor({ patterns: true });
  const found = corpus.files.flatMap((f) =>
    scanText(f.content, f.path).map((x) => ({ ...x, text: f.content.split('\n')[x.line - 1]! })),
  );

  it('redaction hides every secret the scanner finds with a rule that has a redaction name', () => {
    const byRule = new Map(SECRET_RULES.map((r) => [r.id, r]));
    const shared = found.filter((x) => byRule.get(x.ruleId)?.redact !== undefined);
    expect(new Set(shared.map((x) => x.ruleId)).size).toBeGreaterThanOrEqual(10);
    for (const x of shared) {
      const secret = x.text.slice(x.column - 1, x.endColumn - 1);
      if (x.ruleId === 'private-key') continue; // the header line; the block is tested in redact
      expect(redactor.redactString(x.text), x.ruleId).not.toContain(secret);
    }
  });

  it('every finding holds a hint of its rule, and the quick hints pass its line', () => {
    for (const x of found) {
      const rule = SECRET_RULES.find((r) => r.id === x.ruleId);
      if (rule === undefined) continue; // generic and stored values
      const i = rule.regex.flags.includes('i');
      const line = i ? x.text.toLowerCase() : x.text;
      expect(rule.hints.some((h) => line.includes(i ? h.toLowerCase() : h))).toBe(true);
      expect(PROVIDER_HINT.test(x.text)).toBe(true);
      if (rule.redact) expect(PATTERN_HINT.test(x.text)).toBe(true);
    }
  });
});
