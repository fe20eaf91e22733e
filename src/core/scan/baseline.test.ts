import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  baselineIndex,
  formatBaseline,
  isInBaseline,
  parseBaseline,
  updateBaseline,
} from './baseline.js';
import { scanText } from './scanner.js';

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const secret = 'Zq8vN2mR7tLwX4pK9sJd';
const text = `# settings\nAPI_SECRET=${secret}\nGOOGLE=AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW\n`;

/** A baseline as detect-secrets 1.5 writes it (its documented format), audited by hand. */
const HAND_WRITTEN = {
  version: '1.5.0',
  plugins_used: [{ name: 'KeywordDetector', keyword_exclude: '' }, { name: 'PrivateKeyDetector' }],
  filters_used: [{ path: 'detect_secrets.filters.allowlist.is_line_allowlisted' }],
  results: {
    '.env': [
      {
        type: 'Secret Keyword',
        filename: '.env',
        hashed_secret: sha1(secret),
        is_verified: false,
        line_number: 7,
        is_secret: false,
      },
    ],
    'docs/old.md': [
      {
        type: 'Hex High Entropy String',
        filename: 'docs/old.md',
        hashed_secret: '63e1b8ad9e948f948bc19035801e8529c4c94b13',
        is_verified: false,
        line_number: 25,
      },
    ],
  },
  generated_at: '2024-05-01T10:00:00Z',
};

describe('.secrets.baseline', () => {
  it('a baseline written by coffer reads back identically', () => {
    const findings = scanText(text, '.env');
    expect(findings.map((f) => f.ruleId)).toEqual(['generic-secret', 'google-api-key']);
    const b = updateBaseline(
      undefined,
      findings,
      new Set(['.env']),
      new Date('2026-01-02T03:04:05.678Z'),
    );
    const written = formatBaseline(b);
    const read = parseBaseline(written, '.secrets.baseline');
    expect(read).toEqual(b);
    expect(formatBaseline(read)).toBe(written);
    // Rewritten with the same findings: only generated_at changes.
    const again = JSON.parse(
      formatBaseline(updateBaseline(read, findings, new Set(['.env']), new Date(0))),
    );
    expect({ ...again, generated_at: 'x' }).toEqual({ ...JSON.parse(written), generated_at: 'x' });
    const doc = JSON.parse(written);
    expect(doc.generated_at).toBe('2026-01-02T03:04:05Z');
    expect(doc.results['.env']).toEqual([
      {
        type: 'Secret Keyword',
        filename: '.env',
        hashed_secret: sha1(secret),
        is_verified: false,
        line_number: 2,
      },
    ]);
    // coffer's own rule (no detect-secrets plugin) goes where detect-secrets does not look.
    expect(doc.coffer_results['.env'][0]).toMatchObject({ type: 'google-api-key', line_number: 3 });
    expect(written).not.toContain(secret);
  });

  it('reads a detect-secrets baseline, suppresses its entries, and keeps their audit fields', () => {
    const b = parseBaseline(JSON.stringify(HAND_WRITTEN, null, 2), '.secrets.baseline');
    const findings = scanText(text, '.env');
    const index = baselineIndex(b);
    expect(findings.filter((f) => !isInBaseline(index, f)).map((f) => f.ruleId)).toEqual([
      'google-api-key',
    ]);
    const next = updateBaseline(b, findings, new Set(['.env']), new Date('2026-01-01T00:00:00Z'));
    const doc = JSON.parse(formatBaseline(next));
    expect(Object.keys(doc)).toEqual([
      'version',
      'plugins_used',
      'filters_used',
      'results',
      'generated_at',
      'coffer_results',
    ]);
    expect(doc.plugins_used).toEqual(HAND_WRITTEN.plugins_used);
    expect(doc.results['.env']).toEqual([{ ...HAND_WRITTEN.results['.env'][0], line_number: 2 }]);
    // A file not scanned keeps its entries.
    expect(doc.results['docs/old.md']).toEqual(HAND_WRITTEN.results['docs/old.md']);
  });

  it("keys a Stripe key as detect-secrets does: the prefix and 24 characters, whatever the key's length", () => {
    const key = `sk_live_${'Ab3'.repeat(33)}`; // 107 characters, as current Stripe keys are
    const [f] = scanText(`STRIPE_SECRET_KEY=${key}\n`, '.env');
    expect(f?.ruleId).toBe('stripe-secret-key');
    const detectSecrets = createHash('sha1').update(key.slice(0, 32)).digest('hex');
    expect(f?.hashedSecret).toBe(detectSecrets);
    // An entry detect-secrets wrote for that key suppresses coffer's finding.
    const b = parseBaseline(
      JSON.stringify({
        version: '1.5.0',
        plugins_used: [{ name: 'StripeDetector' }],
        filters_used: [],
        results: {
          '.env': [
            {
              type: 'Stripe Access Key',
              filename: '.env',
              hashed_secret: detectSecrets,
              is_verified: false,
              line_number: 1,
            },
          ],
        },
      }),
      '.secrets.baseline',
    );
    expect(isInBaseline(baselineIndex(b), f!)).toBe(true);
    // A baseline an older coffer wrote (the whole key hashed) still suppresses it, and an
    // update rekeys its entry, audit fields kept.
    const whole = createHash('sha1').update(key).digest('hex');
    const old = parseBaseline(
      JSON.stringify({
        version: '1.5.0',
        plugins_used: [],
        filters_used: [],
        results: {
          '.env': [
            {
              type: 'Stripe Access Key',
              filename: '.env',
              hashed_secret: whole,
              is_verified: false,
              line_number: 1,
              is_secret: false,
            },
          ],
        },
      }),
      '.secrets.baseline',
    );
    expect(isInBaseline(baselineIndex(old), f!)).toBe(true);
    const next = JSON.parse(
      formatBaseline(updateBaseline(old, [f!], new Set(['.env']), new Date(0))),
    );
    expect(next.results['.env']).toEqual([
      {
        type: 'Stripe Access Key',
        filename: '.env',
        hashed_secret: detectSecrets,
        is_verified: false,
        line_number: 1,
        is_secret: false,
      },
    ]);
  });

  it('rewrites entries in detect-secrets key order, keeping unknown keys and audit fields', () => {
    const token = 'AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW';
    const doc = {
      ...HAND_WRITTEN,
      custom_top_level: { kept: true },
      results: {
        '.env': [
          // Another key order, no is_verified, an unknown key: all kept, reordered.
          {
            line_number: 7,
            is_secret: false,
            hashed_secret: sha1(secret),
            type: 'Secret Keyword',
            audited_by: 'ann',
          },
          // The same secret under a type coffer does not report for it: dropped on rewrite.
          {
            type: 'Base64 High Entropy String',
            filename: '.env',
            hashed_secret: sha1(secret),
            is_verified: false,
            line_number: 2,
          },
        ],
      },
      coffer_results: {
        '.env': [
          {
            type: 'google-api-key',
            filename: '.env',
            hashed_secret: sha1(token),
            is_verified: true,
            line_number: 9,
            is_secret: true,
          },
        ],
      },
    };
    const b = parseBaseline(JSON.stringify(doc), '.secrets.baseline');
    const findings = scanText(text, '.env');
    expect(findings.filter((f) => !isInBaseline(baselineIndex(b), f))).toEqual([]);
    const next = JSON.parse(
      formatBaseline(updateBaseline(b, findings, new Set(['.env']), new Date(0))),
    );
    expect(Object.keys(next)).toEqual([
      'version',
      'plugins_used',
      'filters_used',
      'results',
      'generated_at',
      'custom_top_level',
      'coffer_results',
    ]);
    expect(next.filters_used).toEqual(HAND_WRITTEN.filters_used);
    expect(next.custom_top_level).toEqual({ kept: true });
    expect(JSON.stringify(next.results['.env'])).toBe(
      JSON.stringify([
        {
          type: 'Secret Keyword',
          filename: '.env',
          hashed_secret: sha1(secret),
          is_verified: false,
          line_number: 2,
          is_secret: false,
          audited_by: 'ann',
        },
      ]),
    );
    expect(next.coffer_results['.env']).toEqual([
      { ...doc.coffer_results['.env'][0], line_number: 3 },
    ]);
    expect(next.generated_at).toBe('1970-01-01T00:00:00Z');
  });

  it('refuses a file that is not a baseline, with exit class usage', () => {
    expect(() => parseBaseline('{"results": []}', 'b.json')).toThrow(
      /not a detect-secrets baseline/,
    );
    for (const n of ['1e999', '-1', '2.5', '"3"'])
      expect(() =>
        parseBaseline(
          `{"results": {"a": [{"type": "t", "hashed_secret": "h", "line_number": ${n}}]}}`,
          'b.json',
        ),
      ).toThrow(/line_number that is not a line number/);
    expect(() => parseBaseline('nope', 'b.json')).toThrow(/not valid JSON/);
    // Deep nesting JSON.parse takes would overflow the stack when written back.
    const deep = `{"version":"1.5.0","results":{},"x":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    expect(() => parseBaseline(deep, 'b.json')).toThrow(
      /b\.json is not a detect-secrets baseline: nested more than 64 levels deep/,
    );
  });
});
