/**
 * The scanner against the labelled corpus (test/helpers/scan-corpus.ts): recall for every
 * rule family, precision for every decoy category, and the stored-value detector finding every
 * planted value in every encoding and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { pathFilter } from '../src/core/scan/filters.js';
import { scanText } from '../src/core/scan/scanner.js';
import { StoredValueMatcher } from '../src/core/scan/stored-values.js';
import type { Finding } from '../src/core/scan/types.js';
import { type Corpus, Gen, generateCorpus } from './helpers/scan-corpus.js';

function scanCorpus(corpus: Corpus): Finding[] {
  return corpus.files.flatMap((f) => (pathFilter(f.path) ? [] : scanText(f.content, f.path)));
}

const corpus = generateCorpus(1801);
const findings = scanCorpus(corpus);
const hit = new Set(findings.map((f) => `${f.file}:${f.line}`));

describe('labelled corpus', () => {
  it('is deterministic', () => {
    expect(generateCorpus(1801)).toEqual(corpus);
    expect(generateCorpus(1802).files[0]).not.toEqual(corpus.files[0]);
  });

  const families = [...new Set(corpus.secrets.map((s) => s.family))];
  it.each(families)('recall of %s is at least 95 %%', (family) => {
    const planted = corpus.secrets.filter((s) => s.family === family);
    const missed = planted.filter((s) => !hit.has(`${s.file}:${s.line}`));
    const lines = missed.map(
      (m) => corpus.files.find((f) => f.path === m.file)!.content.split('\n')[m.line - 1],
    );
    expect(
      missed.length / planted.length,
      `missed:\n${lines.map((l) => l?.slice(0, 60)).join('\n')}`,
    ).toBeLessThanOrEqual(0.05);
  });

  const categories = [...new Set(corpus.decoys.map((d) => d.category))];
  it.each(categories)('decoys of %s are almost never reported (at most 2 %%)', (category) => {
    const decoys = corpus.decoys.filter((d) => d.category === category);
    const flagged = decoys.filter((d) => hit.has(`${d.file}:${d.line}`));
    const why = findings.filter((f) => flagged.some((d) => d.file === f.file && d.line === f.line));
    expect(
      flagged.length / decoys.length,
      why.map((f) => `${f.file}:${f.line} ${f.ruleId}`).join('\n'),
    ).toBeLessThanOrEqual(0.02);
  });

  it('reports nothing on unlabelled lines, and overall precision is at least 98 %', () => {
    const labelled = new Set(corpus.secrets.map((s) => `${s.file}:${s.line}`));
    const wrong = findings.filter((f) => !labelled.has(`${f.file}:${f.line}`));
    expect(
      wrong.length / findings.length,
      wrong.map((f) => `${f.file}:${f.line} ${f.ruleId}`).join('\n'),
    ).toBeLessThanOrEqual(0.02);
  });
});

describe('stored values in the corpus', () => {
  it('finds every planted value in every encoding, and nothing else', () => {
    const g = new Gen(77);
    const values = Array.from({ length: 12 }, (_, i) => ({
      path: `project/app/secret_${i}`,
      env: 'prod',
      value: i % 3 === 0 ? `p4ss word/${g.str(12)}&"é"` : g.str(16 + i),
    }));
    const encode: Record<string, (v: string) => string> = {
      raw: (v) => v,
      base64: (v) => Buffer.from(v).toString('base64'),
      'base64 inside': (v) => Buffer.from(`deploy:${v}\n`).toString('base64'),
      base64url: (v) => Buffer.from(v).toString('base64url'),
      url: (v) => encodeURIComponent(v),
      json: (v) => JSON.stringify(v).slice(1, -1),
      hex: (v) => Buffer.from(v).toString('hex'),
      HEX: (v) => Buffer.from(v).toString('hex').toUpperCase(),
    };
    const matcher = new StoredValueMatcher(values);
    const planted: string[] = [];
    const extra = generateCorpus(5, { perFamily: 2, perDecoy: 1 });
    const files = extra.files.map((f, i) => {
      const v = values[i % values.length]!;
      const [how, fn] = Object.entries(encode)[i % 8]!;
      const lines = f.content.split('\n');
      lines.splice(1, 0, `stored = "${fn(v.value)}"`);
      planted.push(`${f.path}:2:${v.path}:${how}`);
      return { path: f.path, content: lines.join('\n') };
    });
    const found = files.flatMap((f) =>
      scanText(f.content, f.path, { storedValues: matcher })
        .filter((x) => x.ruleId === 'coffer-stored-value')
        .map((x) => `${x.file}:${x.line}:${x.keyPath}`),
    );
    expect(found.sort()).toEqual(planted.map((p) => p.split(':').slice(0, 3).join(':')).sort());
    expect(new Set(planted.map((p) => p.split(':')[3])).size).toBe(8);
  });
});
