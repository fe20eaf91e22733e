import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor, SECRET_PATTERNS } from './index.js';
import { PATTERN_HINT } from './patterns.js';

const M = '[REDACTED]';
const redact = (text: string) => createRedactor({ patterns: true }).redactString(text);
/** `n` characters cycling through `alphabet`, for tokens of an exact length. */
const chars = (n: number, alphabet = 'aB3xY7kQ9z') =>
  Array.from({ length: n }, (_, i) => alphabet[i % alphabet.length]).join('');

/** [pattern name, text, expected output]: every pattern has at least one. */
const FOUND: [string, string, string][] = [
  [
    'private-key',
    'key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7+/=\n-----END RSA PRIVATE KEY-----\nok',
    `key:\n${M}\nok`,
  ],
  [
    'private-key',
    '-----BEGIN PGP PRIVATE KEY BLOCK-----\nProc-Type: 4,ENCRYPTED\n\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----',
    M,
  ],
  ['private-key', 'pem=-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg (cut)', `pem=${M}(cut)`],
  ['jwt', `t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.${chars(43)};`, `t=${M};`],
  ['authorization-bearer', 'Authorization: Bearer abc123.def-456', `Authorization: Bearer ${M}`],
  [
    'authorization-bearer',
    "curl -H 'authorization: bearer Zm9vYmFy2'",
    `curl -H 'authorization: bearer ${M}'`,
  ],
  ['authorization-header', 'Authorization: Basic dXNlcjpwYXNz', `Authorization: Basic ${M}`],
  ['authorization-header', '{"authorization":"token abcd1234"}', `{"authorization":"token ${M}"}`],
  ['url-credentials', 'postgres://app:s3cr3t@db:5432/app', `postgres://app:${M}@db:5432/app`],
  ['url-credentials', 'REDIS_URL=redis://:pw-123@cache:6379', `REDIS_URL=redis://:${M}@cache:6379`],
  ['url-credentials', 'mysql://u:p@ss#w@host/db', `mysql://u:${M}@host/db`],
  ['stripe', `STRIPE=sk_live_${chars(24)}`, `STRIPE=${M}`],
  ['stripe', `rk_test_${chars(24)}_x and whsec_${chars(32)}`, `${M}_x and ${M}`],
  ['github', `ghp_${chars(36)} github_pat_${chars(40, 'ab_1')}`, `${M} ${M}`],
  ['gitlab', `token glpat-${chars(20)}.`, `token ${M}.`],
  ['aws-access-key-id', 'id=AKIAIOSFODNN7EXAMPLE,', `id=${M},`],
  ['google-api-key', `key=AIza${chars(35, 'Sy_-9a')}&`, `key=${M}&`],
  ['slack', 'xoxb-1234567890-abcdefghij', M],
  [
    'npm',
    `//registry.npmjs.org/:_authToken=npm_${chars(36)}`,
    `//registry.npmjs.org/:_authToken=${M}`,
  ],
  ['sendgrid', `SG.${chars(22)}.${chars(43)}`, M],
  ['openai', `OPENAI_API_KEY=sk-proj-${chars(48)}`, `OPENAI_API_KEY=${M}`],
  ['openai', `sk-ant-api03-${chars(40)}`, M],
];

/** Ordinary text that must pass unchanged. */
const UNCHANGED = [
  'the bearer instrumentation was signed.',
  'Bearer tokens are described in RFC 6750; the Bearer scheme.',
  'see https://example.com/docs?page=2#intro and http://localhost:8080/users/@me',
  'mailto:ann@example.com git@github.com:owner/repo.git ssh://git@host/repo',
  'commit 3f786850e387550fdab836ed7e6dc881de23001b uuid 123e4567-e89b-12d3-a456-426614174000',
  'pip install sk-learn; task-runner-for-large-projects; risk_live_data',
  'AKIA is the prefix of an access key id; ghp_short; xoxb- tokens; SG.abc',
  'const token = getToken(); // authorization: pending',
  '2024-01-01T00:00:00Z INFO GET /health 200 3ms base64 SGVsbG8gd29ybGQ=',
  '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----',
  '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n-----END PUBLIC KEY-----',
];

describe('SECRET_PATTERNS', () => {
  it('has stable, unique kebab-case names, each with an example here', () => {
    const names = SECRET_PATTERNS.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
    expect(new Set(FOUND.map(([n]) => n))).toEqual(new Set(names));
  });

  it.each(FOUND)('%s: masks %j', (name, text, expected) => {
    const pattern = SECRET_PATTERNS.find((p) => p.name === name)!;
    expect([...text.matchAll(new RegExp(pattern.regex))].length).toBeGreaterThan(0);
    expect(redact(text)).toBe(expected);
  });

  it.each(UNCHANGED)('leaves ordinary text alone: %j', (text) => {
    expect(redact(text)).toBe(text);
  });

  it('is off unless asked for', () => {
    const [, text] = FOUND[4]!;
    expect(createRedactor().redactString(text)).toBe(text);
  });

  it('is not disturbed by a caller moving an exported regex', () => {
    const jwt = SECRET_PATTERNS.find((p) => p.name === 'jwt')!.regex;
    const [, text, expected] = FOUND[3]!;
    jwt.test(text); // leaves lastIndex past the match
    expect(redact(text)).toBe(expected);
    jwt.lastIndex = 0;
  });

  it('merges a pattern with an overlapping known value into one marker', () => {
    const r = createRedactor({ values: ['app:s3cr3t'], patterns: true });
    expect(r.redactString('postgres://app:s3cr3t@db/app')).toBe(`postgres://${M}@db/app`);
  });

  it('no pattern matches a slice of an example that the quick hint rejects', () => {
    let checked = 0;
    for (const [, text] of FOUND) {
      for (let i = 0; i < text.length; i++) {
        for (let j = i + 1; j <= text.length; j++) {
          const t = text.slice(i, j);
          if (SECRET_PATTERNS.some((p) => new RegExp(p.regex).test(t))) {
            expect(PATTERN_HINT.test(t), t).toBe(true);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(FOUND.length);
  });

  it('property: no pattern matches text that the quick hint rejects', () => {
    // Slices of the examples keep or lose each pattern's prefix at random.
    const slice = fc
      .tuple(fc.constantFrom(...FOUND.map(([, text]) => text)), fc.nat(), fc.nat())
      .map(([text, a, b]) => text.slice(a % text.length, (a % text.length) + (b % 80)));
    const text = fc
      .array(fc.oneof(slice, fc.string({ maxLength: 4 })), { maxLength: 4 })
      .map((p) => p.join(''));
    fc.assert(
      fc.property(text, (t) => {
        const matched = SECRET_PATTERNS.some((p) => new RegExp(p.regex).test(t));
        if (matched) expect(PATTERN_HINT.test(t)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('property: prose made of words and punctuation passes unchanged', () => {
    const word = fc.stringMatching(/^[A-Za-z][a-z]{0,11}$/);
    const sep = fc.constantFrom(' ', ', ', '. ', '\n', ': ', ' - ', '/');
    const prose = fc.array(fc.tuple(word, sep), { maxLength: 30 });
    fc.assert(
      fc.property(prose, (parts) => {
        const text = parts.map(([w, s]) => w + s).join('');
        expect(redact(text)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('property: masking a JSON line keeps it valid JSON and leaves no secret in it', () => {
    const secrets = FOUND.map(([, text, expected]) => ({ text, expected }));
    const entry = fc.record({
      key: fc.constantFrom('msg', 'url', 'note', 'header'),
      secret: fc.constantFrom(...secrets),
      before: fc.string({ unit: fc.constantFrom(' ', '"', '\\', '|', 'é', '\n'), maxLength: 4 }),
      after: fc.string({ unit: fc.constantFrom(' ', '"', '\\', '|', 'é', '\n'), maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 4 }), (entries) => {
        const obj = entries.map((e) => ({ [e.key]: `${e.before} ${e.secret.text} ${e.after}` }));
        const parsed = JSON.parse(redact(JSON.stringify(obj))) as Record<string, string>[];
        expect(parsed).toHaveLength(entries.length);
        parsed.forEach((o, i) => {
          const e = entries[i]!;
          expect(Object.keys(o)).toEqual([e.key]);
          expect(o[e.key]).toBe(`${e.before} ${e.secret.expected} ${e.after}`);
        });
      }),
      { numRuns: 200 },
    );
  });

  // Each input makes a backtracking regex scan from every position of a long run, which takes
  // minutes at this size when a pattern is quadratic; the linear ones finish in milliseconds.
  it.each([
    ['jwt-like run', 'eyJ-'.repeat(50_000)],
    ['dotted words', 'a.'.repeat(100_000)],
    ['dashed words', 'xoxb-'.repeat(40_000)],
    ['url without @', `a://b:${'c:'.repeat(100_000)}`],
    ['bearer word', `Bearer ${'a'.repeat(200_000)}.`],
    ['pem label', `-----BEGIN ${'A '.repeat(100_000)}`],
    ['many BEGINs', '-----BEGIN PRIVATE KEY-----'.repeat(5_000)],
    ['authorization spaces', `authorization: ${' '.repeat(200_000)}x`],
  ])('stays fast on a long adversarial input: %s', (_name, text) => {
    const out = redact(text);
    expect(out.length).toBeLessThanOrEqual(text.length + M.length);
  });
});
